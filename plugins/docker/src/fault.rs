//! What docker's and registries' words mean: the plugin, not the host,
//! reads them, and says which case a failure is (plugin API 0.3.0's typed
//! errors). The host retries a transient failure, never a refused one,
//! and gives each case its exit code and message.

use ops_plugin_sdk::error::{is_disk_full, no_space, tool_missing};
use ops_plugin_sdk::Error;

/// Where a full disk is, for the user: Docker keeps images, layers and
/// build cache under its data root.
const DATA_ROOT: &str = "Docker's data root on the node (old images and build cache: \
                         `docker system prune`)";

/// The typed error for a failed docker command: `message` is what the
/// plugin says (the command, its status, the end of its stderr), `stderr`
/// what docker printed, `code` its exit code.
pub fn classify(message: String, stderr: &str, code: Option<i32>) -> Error {
    let lower = stderr.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if any(&[
        "cannot connect to the docker daemon",
        "is the docker daemon running",
    ]) {
        return tool_missing(
            format!("the Docker daemon is not running on the node: {message}"),
            "start it there, e.g. `systemctl start docker`",
        );
    }
    if code == Some(127) && any(&["docker: not found", "docker: command not found"]) {
        return tool_missing(
            format!("docker is not installed on the node: {message}"),
            "install Docker Engine there (https://docs.docker.com/engine/install/)",
        );
    }
    if is_disk_full(stderr) {
        return no_space(message, DATA_ROOT);
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
        "http status: 5",
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
            "401 unauthorized",
            "403 forbidden",
            "incorrect username or password",
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
    fn docker_messages_are_told_apart() {
        for (stderr, code, expected) in [
            (
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the \
                 docker daemon running?",
                1,
                "tool-missing",
            ),
            ("sh: 1: docker: not found", 127, "tool-missing"),
            ("unauthorized: authentication required", 1, "refused"),
            (
                "Error response from daemon: login attempt to http://r/v2/ failed with status: \
                 401 Unauthorized",
                1,
                "refused",
            ),
            (
                "denied: requested access to the resource is denied",
                1,
                "refused",
            ),
            ("mkdir /b/x: Permission denied", 1, "failed"),
            (
                "received unexpected HTTP status: 500 Internal Server Error",
                1,
                "transient",
            ),
            (
                "Get \"http://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection \
                 refused",
                1,
                "transient",
            ),
            (
                "failed to copy: write /var/lib/docker/x: no space left on device",
                1,
                "no-space",
            ),
            (
                "write /var/lib/docker/x: No space left on device",
                1,
                "no-space",
            ),
            ("manifest invalid: manifest invalid", 1, "failed"),
        ] {
            assert_eq!(case(stderr, code), expected, "{stderr}");
        }
    }
}
