//! `xtask deps`: the dependency policy of `deny.toml` (licenses, banned
//! crates, sources), checked over `cargo metadata` for this workspace and
//! the plugins'. It reads the keys of deny.toml that `cargo deny check bans
//! licenses sources` would, so CI needs no tool beyond cargo.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::license;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Policy {
    graph: Graph,
    licenses: Licenses,
    bans: Bans,
    sources: Sources,
}

#[derive(Deserialize)]
struct Graph {
    targets: Vec<String>,
}

#[derive(Deserialize)]
struct Licenses {
    allow: Vec<String>,
}

#[derive(Deserialize)]
struct Bans {
    #[serde(default)]
    deny: Vec<Ban>,
}

#[derive(Deserialize)]
struct Ban {
    #[serde(rename = "crate")]
    name: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Sources {
    unknown_registry: String,
    unknown_git: String,
    allow_registry: Vec<String>,
    #[serde(default)]
    allow_git: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
}

/// Checks both workspaces against `root/deny.toml`; every problem is
/// listed before failing.
pub fn check(root: &Path) -> Result<()> {
    let text = std::fs::read_to_string(root.join("deny.toml")).context("reading deny.toml")?;
    let policy: Policy = toml::from_str(&text).context("deny.toml")?;
    if policy.sources.unknown_registry != "deny" || policy.sources.unknown_git != "deny" {
        bail!("deny.toml: xtask deps only knows `unknown-registry` and `unknown-git` = \"deny\"");
    }
    let mut problems = Vec::new();
    let mut count = 0;
    for manifest in ["Cargo.toml", "plugins/Cargo.toml"] {
        let packages = packages(&root.join(manifest), &policy.graph.targets)?;
        count += packages.len();
        for package in &packages {
            problems.extend(
                package_problems(package, &policy)
                    .into_iter()
                    .map(|p| format!("{manifest}: {} {}: {p}", package.name, package.version)),
            );
        }
    }
    if !problems.is_empty() {
        bail!(
            "the dependency policy (deny.toml) is broken:\n  {}",
            problems.join("\n  ")
        );
    }
    println!("deps: {count} packages meet deny.toml (licenses, bans, sources)");
    Ok(())
}

/// The packages of the workspace of `manifest`, on `targets` only.
fn packages(manifest: &Path, targets: &[String]) -> Result<Vec<Package>> {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(manifest);
    for target in targets {
        cargo.args(["--filter-platform", target]);
    }
    let out = cargo.output().context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let metadata: Metadata =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")?;
    Ok(metadata.packages)
}

fn package_problems(package: &Package, policy: &Policy) -> Vec<String> {
    let mut problems = Vec::new();
    match package.license.as_deref() {
        None => problems.push("no `license` in its manifest".to_owned()),
        Some(expression) => match license::satisfied(expression, &policy.licenses.allow) {
            Some(true) => {}
            Some(false) => problems.push(format!("license `{expression}` is not allowed")),
            None => problems.push(format!("license `{expression}` is not an SPDX expression")),
        },
    }
    if let Some(ban) = policy.bans.deny.iter().find(|b| b.name == package.name) {
        problems.push(format!("banned: {}", ban.reason));
    }
    if let Some(source) = &package.source {
        if !source_allowed(source, &policy.sources) {
            problems.push(format!("source `{source}` is not allowed"));
        }
    }
    problems
}

/// `registry+URL`, `sparse+URL` or `git+URL#commit` against the allowed
/// registries and git repositories; crates.io counts once, however named.
fn source_allowed(source: &str, sources: &Sources) -> bool {
    let (kind, url) = source.split_once('+').unwrap_or(("", source));
    let same = |allowed: &String| {
        let url = url.split(['?', '#']).next().unwrap_or(url);
        url.trim_end_matches('/') == allowed.trim_end_matches('/')
            || (is_crates_io(url) && is_crates_io(allowed))
    };
    match kind {
        "registry" | "sparse" => sources.allow_registry.iter().any(same),
        "git" => sources.allow_git.iter().any(same),
        _ => false,
    }
}

fn is_crates_io(url: &str) -> bool {
    matches!(
        url.trim_end_matches('/'),
        "https://github.com/rust-lang/crates.io-index" | "https://index.crates.io"
    )
}

#[cfg(test)]
mod tests {
    use super::{source_allowed, Sources};

    #[test]
    fn only_allowed_registries_and_repositories_are_sources() {
        let sources = Sources {
            unknown_registry: "deny".into(),
            unknown_git: "deny".into(),
            allow_registry: vec!["https://github.com/rust-lang/crates.io-index".into()],
            allow_git: vec![],
        };
        assert!(source_allowed(
            "registry+https://github.com/rust-lang/crates.io-index",
            &sources
        ));
        assert!(source_allowed("sparse+https://index.crates.io/", &sources));
        assert!(!source_allowed(
            "registry+https://example.org/index",
            &sources
        ));
        assert!(!source_allowed(
            "git+https://github.com/x/y?rev=1#abcdef",
            &sources
        ));
    }
}
