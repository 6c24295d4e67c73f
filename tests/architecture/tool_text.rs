//! The host knows no builder's words: what docker, BuildKit, buildah or a registry
//! prints is read by the builder plugin, which says what it meant with a
//! typed error and marks its own progress chatter. This scans the host's
//! sources (each file up to its `#[cfg(test)]` module; the scaffold
//! templates are plugin code) for such text.

use std::path::Path;

/// Text docker, BuildKit, registries or the OS print, lowercased.
const TOOL_TEXT: &[&str] = &[
    "cannot connect to the docker daemon",
    "is the docker daemon running",
    "docker daemon",
    "systemctl start docker",
    "docker system prune",
    "buildkit",
    "buildx",
    "authentication required",
    "incorrect username or password",
    "403 forbidden",
    "bad gateway",
    "service unavailable",
    "gateway timeout",
    "too many requests",
    "internal server error",
    "i/o timeout",
    "tls handshake timeout",
    "no space left on device",
    "the push refers to repository",
    "layer already exists",
    "successfully tagged",
    "successfully built",
    "removing intermediate container",
    "naming to",
    "writing image",
    // buildah's.
    "copying blob",
    "storing signatures",
    "writing manifest to image destination",
    "newuidmap",
    "fuse-overlayfs",
];

/// (file, 1-based line, needle) of every hit in `text` before its tests.
pub fn hits(file: &Path, text: &str) -> Vec<(String, usize, &'static str)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        for needle in TOOL_TEXT {
            if lower.contains(needle) {
                found.push((file.display().to_string(), i + 1, *needle));
            }
        }
    }
    found
}

#[test]
fn the_scan_finds_tool_text_and_skips_tests() {
    let text = "let a = 1;\n// Is the Docker daemon running?\n#[cfg(test)]\nmod tests { \"bad gateway\" }\n";
    let found = hits(Path::new("x.rs"), text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(_, line, _)| *line == 2));
}
