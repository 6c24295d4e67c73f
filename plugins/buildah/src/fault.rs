//! What buildah's and registries' words mean: the plugin, not the host,
//! reads them, and says which case a failure is (plugin API 0.3.0's typed
//! errors). The host retries a transient failure, never a refused one,
//! and gives each case its exit code and message.

use ops_plugin_sdk::error::{is_disk_full, no_space, tool_missing};
use ops_plugin_sdk::Error;

/// What a node needs for rootless buildah.
pub const REMEDY: &str = "install buildah, uidmap and fuse-overlayfs on the node (Debian and \
                          Ubuntu: `apt-get install buildah uidmap fuse-overlayfs`), and give \
                          the node's login user subordinate id ranges in /etc/subuid and \
                          /etc/subgid (e.g. `usermod --add-subuids 100000-165535 \
                          --add-subgids 100000-165535 USER`)";

/// Where a full disk is, for the user: rootless buildah keeps images and
/// layers under the node user's home.
const STORAGE: &str = "buildah's storage on the node (~/.local/share/containers/storage of the \
                       node user; `buildah rmi --prune` frees old images)";

/// The typed error for a failed buildah command: `message` is what the
/// plugin says (the command, its status, the end of its stderr), `stderr`
/// what buildah printed, `code` its exit code.
pub fn classify(message: String, stderr: &str, code: Option<i32>) -> Error {
    let lower = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if code == Some(127) && any(&["buildah: not found", "buildah: command not found"]) {
        return tool_missing(
            format!("buildah is not installed on the node: {message}"),
            REMEDY,
        );
    }
    // Rootless buildah needs newuidmap/newgidmap and the user's id ranges.
    if any(&[
        "newuidmap",
        "newgidmap",
        "no subuid ranges found",
        "no subgid ranges found",
        "cannot find mappings for user",
    ]) {
        return tool_missing(
            format!("buildah cannot run rootless on the node: {message}"),
            REMEDY,
        );
    }
    if is_disk_full(stderr) {
        return no_space(message, STORAGE);
    }
    if refused(&lower) {
        return Error::Refused(message);
    }
    if any(&[
        "500 internal server error",
        "502 bad gateway",
        "503 service unavailable",
        "504 gateway timeout",
        "429 too many requests",
        "toomanyrequests",
        "received unexpected http status: 5",
        "status code: 5",
        "connection refused",
        "connection reset",
        "i/o timeout",
        "tls handshake timeout",
        "unexpected eof",
        "broken pipe",
    ]) {
        return Error::Transient(message);
    }
    Error::Failed(message)
}

/// The registry refused the credentials or the access. "denied" alone is
/// not enough: the node's own "Permission denied" is no registry's answer.
fn refused(lower: &str) -> bool {
    let registry_denied = lower
        .match_indices("denied")
        .any(|(at, _)| !lower[..at].ends_with("permission "));
    registry_denied
        || [
            "unauthorized",
            "authentication required",
            "invalid username/password",
            "401 unauthorized",
            "403 forbidden",
            "status code: 401",
            "status code: 403",
        ]
        .iter()
        .any(|n| lower.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(stderr: &str, code: i32) -> &'static str {
        match classify("m".into(), stderr, Some(code)) {
            Error::Refused(_) => "refused",
            Error::Transient(_) => "transient",
            Error::NodeLost(_) => "node-lost",
            Error::ToolMissing(_) => "tool-missing",
            Error::NoSpace(_) => "no-space",
            Error::Failed(_) => "failed",
        }
    }

    #[test]
    fn buildah_messages_are_told_apart() {
        for (stderr, code, expected) in [
            ("ops-buildah: 1: buildah: not found", 127, "tool-missing"),
            (
                "bash: line 1: buildah: command not found",
                127,
                "tool-missing",
            ),
            (
                "Error: cannot find mappings for user opsbuild: No subuid ranges found for \
                 user \"opsbuild\" in /etc/subuid",
                125,
                "tool-missing",
            ),
            (
                "error running newuidmap: exec: \"newuidmap\": executable file not found in $PATH",
                1,
                "tool-missing",
            ),
            (
                "Error: logging into \"127.0.0.1:5000\": invalid username/password",
                125,
                "refused",
            ),
            (
                "Error: authenticating creds for \"127.0.0.1:5000\": Requesting bearer token: \
                 invalid status code from registry 401 (Unauthorized)",
                125,
                "refused",
            ),
            (
                "Error: writing blob: initiating layer upload to /v2/t/api/blobs/uploads/ in \
                 127.0.0.1:5000: unauthorized: authentication required",
                125,
                "refused",
            ),
            (
                "Error: trying to reuse blob sha256:ab at destination: denied: requested \
                 access to the resource is denied",
                125,
                "refused",
            ),
            ("Error: mkdir /b/x: permission denied", 125, "failed"),
            (
                "Error: writing blob: initiating layer upload to /v2/t/api/blobs/uploads/ in \
                 127.0.0.1:5000: received unexpected HTTP status: 500 Internal Server Error",
                125,
                "transient",
            ),
            (
                "Error: pinging container registry 127.0.0.1:9: Get \"http://127.0.0.1:9/v2/\": \
                 dial tcp 127.0.0.1:9: connect: connection refused",
                125,
                "transient",
            ),
            (
                "Error: writing blob: toomanyrequests: too many requests",
                125,
                "transient",
            ),
            (
                "Error: committing container: copying layers: write /home/u/.local/share/\
                 containers/storage/vfs/dir/x: no space left on device",
                125,
                "no-space",
            ),
            (
                "Error: building at STEP \"COPY nope /x\": checking on sources under \
                 \"/opt/p\": copier: stat: \"/nope\": no such file or directory",
                125,
                "failed",
            ),
        ] {
            assert_eq!(case(stderr, code), expected, "{stderr}");
        }
    }
}
