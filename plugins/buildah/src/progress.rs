//! buildah's progress chatter: lines that say a layer is being copied,
//! committed or cached rather than what the build did. The exec requests of
//! builds and pushes carry these patterns; the host shows matching lines
//! only with `-v` (and keeps them in the run log, and prints them in full
//! when an image fails). The host itself knows no tool's chatter.

/// Regular expressions (Rust `regex` syntax) for the lines of `buildah
/// bud`, `buildah push` and `buildah manifest push` that are progress.
pub const PATTERNS: &[&str] = &[
    r"^\s*$",
    // The steps themselves: what the Dockerfile says, not what it did.
    r"^(\[[^\]]+\] )?STEP \d+/\d+: ",
    r"^(\[[^\]]+\] )?(COMMIT|--> |Using cache |Successfully tagged )",
    // A bare image id after the commit.
    r"^[0-9a-f]{64}$",
    // Copying to or from a registry.
    r"^(Getting image source signatures|Getting image list signatures|Copying blob |Copying config |Copying \d+ of \d+ images? in list|Copying image |Writing manifest to image destination|Writing manifest list to image destination|Storing signatures|Storing list signatures|Trying to pull |Pulling image |Resolved )",
    // With --platform, buildah 1.28 passes the TARGET*/BUILD* platform
    // args itself and then warns when the Dockerfile uses none of them.
    r"^\[Warning\] one or more build args were not consumed: \[((TARGET|BUILD)(OS|ARCH|VARIANT|PLATFORM) ?)+\]$",
    // Our own digest line after a push; the summary shows the digest.
    r"^ops-digest: ",
];

pub fn patterns() -> Vec<String> {
    PATTERNS.iter().map(|p| (*p).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> regex::RegexSet {
        regex::RegexSet::new(PATTERNS).unwrap()
    }

    #[test]
    fn copies_and_commits_are_chatter() {
        let set = set();
        for line in [
            "STEP 1/3: FROM scratch",
            "STEP 2/3: ARG SERVICE_BINARY",
            "[linux/arm64] STEP 3/3: COPY target/release/api.txt /service.txt",
            "COMMIT 127.0.0.1:5000/t/api:latest",
            "--> 79dfaf6f251",
            "Using cache 79dfaf6f2512bd7384e0e5988ad73d45d22334013d8bdf3dcdfd4d5031fe43a2",
            "Successfully tagged 127.0.0.1:5000/t/api:latest",
            "79dfaf6f2512bd7384e0e5988ad73d45d22334013d8bdf3dcdfd4d5031fe43a2",
            "Getting image source signatures",
            "Getting image list signatures",
            "[Warning] one or more build args were not consumed: [TARGETARCH TARGETOS TARGETPLATFORM]",
            "Copying blob 5f70bf18a086 done",
            "Copying blob sha256:5f70bf18a0866d6cbf3e28a7d1d0e7a2e1ee6ad4fa9f6aeb7c7eb5bd8fd2c9f0",
            "Copying config 79dfaf6f25 done",
            "Copying 2 of 2 images in list",
            "Copying image sha256:0123 (1/2)",
            "Writing manifest to image destination",
            "Writing manifest list to image destination",
            "Storing signatures",
            "Storing list signatures",
            "ops-digest: sha256:0123",
            "",
        ] {
            assert!(set.is_match(line), "{line}");
        }
    }

    #[test]
    fn output_and_errors_are_kept() {
        let set = set();
        for line in [
            "compiling api",
            "Error: building at STEP \"COPY nope /x\": no such file or directory",
            "error: failed to solve",
            "   Compiling api v0.1.0",
            "WARN[0000] missing \"SERVICE_BINARY\" build argument",
            "[Warning] one or more build args were not consumed: [MODE]",
            "[Warning] one or more build args were not consumed: [TARGETOS MODE]",
        ] {
            assert!(!set.is_match(line), "{line}");
        }
    }
}
