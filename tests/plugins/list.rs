//! `ops plugin list`, run as the real binary.

use std::process::Command;

use crate::support::{repo_root, rogue_path};

fn ops(args: &[&str], cache: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ops"))
        .args(args)
        .env("OPS_CACHE_DIR", cache)
        // An empty plugin store: only what the test's config names.
        .env("OPS_DATA_DIR", cache)
        .output()
        .unwrap()
}

fn sha(path: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn lists_builtins_and_installed_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("ops.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.rogue]\npath = \"{}\"\ngrant = [\"remote-exec\"]\n",
            rogue_path().display()
        ),
    )
    .unwrap();
    let out = ops(
        &[
            "plugin",
            "list",
            "--output",
            "json",
            "-f",
            config.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["git", "rsync", "docker", "buildah", "token-auth", "rogue"]
    );
    let dist = repo_root().join("plugins/dist");
    for row in &rows {
        assert_eq!(row["event"], "plugin");
        assert_eq!(row["version"], "0.1.0");
        let name = row["name"].as_str().unwrap();
        // The built-ins target the latest API; rogue stays on the frozen one.
        let api = if name == "rogue" { "0.1.0" } else { "0.3.0" };
        assert_eq!(row["api_version"], api);
        if name == "rogue" {
            assert_eq!(row["source"], rogue_path().display().to_string());
            assert_eq!(row["sha256"], sha(&rogue_path()));
            assert_eq!(row["kind"], "sync-strategy");
        } else {
            assert_eq!(row["source"], "builtin");
            assert_eq!(row["sha256"], sha(&dist.join(format!("{name}.wasm"))));
        }
    }

    // Human table, without a config file: the built-ins.
    let out = ops(
        &["plugin", "list", "-f", "/nonexistent/ops.toml"],
        tmp.path(),
    );
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("KIND") && lines[0].ends_with("SOURCE")
    );
    assert!(
        lines[1].starts_with("git ")
            && lines[1].contains("sync-strategy")
            && lines[1].ends_with("builtin")
    );
    let docker_sha = sha(&dist.join("docker.wasm"));
    assert!(lines[3].contains(&docker_sha[..12]), "{table}");

    // The listing is the command's result: -q does not hide it.
    let quiet = ops(
        &["-q", "plugin", "list", "-f", "/nonexistent/ops.toml"],
        tmp.path(),
    );
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8(quiet.stdout).unwrap(), table);
}

#[test]
fn a_broken_installed_plugin_fails_the_listing_with_exit_8() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.wasm");
    std::fs::write(&bad, b"not wasm").unwrap();
    let config = tmp.path().join("ops.toml");
    std::fs::write(&config, "[plugins.bad]\npath = \"bad.wasm\"\n").unwrap();
    let out = ops(
        &["plugin", "list", "-f", config.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(8));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("git "), "{stdout}");
    assert!(
        stderr.contains("error: plugin bad is not a valid ops plugin"),
        "{stderr}"
    );
}
