//! docker's progress chatter: lines that say a layer is being transferred,
//! exported or cached rather than what the build did. The exec requests of
//! builds and pushes carry these patterns; the host shows matching lines
//! only with `-v` (and keeps them in the run log, and prints them in full
//! when an image fails). The host itself knows no tool's chatter.

/// Regular expressions (Rust `regex` syntax) for the lines of `docker
/// build`, `docker buildx build --progress=plain` and `docker push` that
/// are progress.
pub const PATTERNS: &[&str] = &[
    // BuildKit separates its steps with blank lines; under a label they
    // only stretch the log.
    r"^\s*$",
    // BuildKit's plain progress: `#N ` then the step's state. A step's name
    // (`[2/4] RUN ...`), its output (a leading elapsed time), `ERROR` and
    // `CANCELED` are kept; its internals and transfers are not.
    r"^#\d+ \[(internal|auth)\]",
    r"^#\d+ (DONE|CACHED|sha256:|transferring|resolve |load |loading |building with|exporting|writing image|naming to|unpacking|extracting|preparing|pushing|importing|resolving provenance)",
    // The legacy builder.
    r"^( ---> |Removing intermediate container|Sending build context|Successfully built|Successfully tagged|DEPRECATED: The legacy builder|            BuildKit is currently disabled|            Install the buildx component|            https://docs\.docker\.com/go/buildx/)",
    // `docker push`: one line per layer and state.
    r"^The push refers to repository",
    r"^[0-9a-fA-F]{12,}: (Preparing|Waiting|Pushing|Pushed|Layer already exists|Mounted from)",
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
    fn layer_progress_is_chatter() {
        let set = set();
        for line in [
            "#0 building with \"default\" instance using docker driver",
            "#1 [internal] load build definition from Dockerfile",
            "#1 transferring dockerfile: 187B done",
            "#1 DONE 0.0s",
            "#6 CACHED",
            "#8 exporting to image",
            "#8 writing image sha256:5f1c0e0c2a5b done",
            "#8 naming to 127.0.0.1:5000/hello/api:latest done",
            "#5 sha256:4f4fb700ef54 1.05MB / 3.40MB 0.2s",
            " ---> 3b1ffd6e0d2a",
            "Removing intermediate container 0f3e2c1d",
            "Successfully tagged hello/api:latest",
            "The push refers to repository [127.0.0.1:5000/hello/api]",
            "5f70bf18a086: Preparing",
            "5f70bf18a086: Layer already exists",
            "a1b2c3d4e5f6: Pushed",
            "",
            "   ",
        ] {
            assert!(set.is_match(line), "{line}");
        }
    }

    #[test]
    fn steps_output_and_errors_are_kept() {
        let set = set();
        for line in [
            "#5 [2/3] COPY target/release/api.txt /service.txt",
            "#6 0.213 compiling api",
            "#6 ERROR: process \"/bin/sh -c false\" did not complete successfully",
            "Step 2/4 : ARG SERVICE_BINARY",
            "latest: digest: sha256:0123abcd size: 528",
            "error: failed to solve",
            "   Compiling api v0.1.0",
        ] {
            assert!(!set.is_match(line), "{line}");
        }
    }
}
