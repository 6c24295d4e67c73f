//! Docker's progress chatter: lines that say a layer is being transferred,
//! exported or cached rather than what the build did. Shown only with `-v`
//! (and kept in the run log, and printed in full when an image fails).

/// Whether `line` is progress noise from `docker build`, `docker buildx
/// build --progress=plain` or `docker push`.
pub fn is_progress_noise(line: &str) -> bool {
    let line = line.trim_end();
    // BuildKit separates its steps with blank lines; under a label they
    // only stretch the log.
    if line.trim_start().is_empty() {
        return true;
    }
    if let Some(rest) = buildkit_body(line) {
        return buildkit_noise(rest);
    }
    legacy_noise(line) || push_noise(line)
}

/// BuildKit's plain progress prefixes each line with `#N `.
fn buildkit_body(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    rest[digits..].strip_prefix(' ')
}

fn buildkit_noise(body: &str) -> bool {
    // `[2/4] RUN ...` names a step; a leading elapsed time is the step's own
    // output; `ERROR` and `CANCELED` explain a failure.
    if body.starts_with("[internal]") || body.starts_with("[auth]") {
        return true;
    }
    if body.starts_with('[') || body.starts_with("ERROR") || body.starts_with("CANCELED") {
        return false;
    }
    let first = body.split(' ').next().unwrap_or("");
    if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return false;
    }
    const NOISE: &[&str] = &[
        "DONE",
        "CACHED",
        "sha256:",
        "transferring",
        "resolve ",
        "load ",
        "loading ",
        "building with",
        "exporting",
        "writing image",
        "naming to",
        "unpacking",
        "extracting",
        "preparing",
        "pushing",
        "importing",
        "exporting to image",
        "resolving provenance",
    ];
    NOISE.iter().any(|n| body.starts_with(n)) || body.is_empty()
}

fn legacy_noise(line: &str) -> bool {
    const NOISE: &[&str] = &[
        " ---> ",
        "Removing intermediate container",
        "Sending build context",
        "Successfully built",
        "Successfully tagged",
        "DEPRECATED: The legacy builder",
        "            BuildKit is currently disabled",
        "            Install the buildx component",
        "            https://docs.docker.com/go/buildx/",
    ];
    NOISE.iter().any(|n| line.starts_with(n))
}

fn push_noise(line: &str) -> bool {
    if line.starts_with("The push refers to repository") {
        return true;
    }
    let Some((layer, state)) = line.split_once(": ") else {
        return false;
    };
    let is_layer = layer.len() >= 12 && layer.bytes().all(|b| b.is_ascii_hexdigit());
    is_layer
        && [
            "Preparing",
            "Waiting",
            "Pushing",
            "Pushed",
            "Layer already exists",
            "Mounted from",
        ]
        .iter()
        .any(|s| state.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_progress_is_noise() {
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
            assert!(is_progress_noise(line), "{line}");
        }
    }

    #[test]
    fn steps_output_and_errors_are_kept() {
        for line in [
            "#5 [2/3] COPY target/release/api.txt /service.txt",
            "#6 0.213 compiling api",
            "#6 ERROR: process \"/bin/sh -c false\" did not complete successfully",
            "Step 2/4 : ARG SERVICE_BINARY",
            "latest: digest: sha256:0123abcd size: 528",
            "error: failed to solve",
            "   Compiling api v0.1.0",
        ] {
            assert!(!is_progress_noise(line), "{line}");
        }
    }
}
