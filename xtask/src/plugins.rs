//! Building the plugin components and checking the committed ones.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use ops_wasm_toolchain::{Method, Toolchain};

/// The built-ins are core modules turned into components here; wasip2
/// would give other bytes (and WASI imports) for the same sources.
const METHODS: &[Method] = &[Method::RustupUnknown, Method::DebianBuildStd];

/// The toolchain for the built-ins, and what built them (recorded in
/// `plugins/dist/TOOLCHAIN`).
fn detect(root: &Path) -> Result<(Toolchain, String)> {
    let toolchain = Toolchain::detect(METHODS, &root.join("plugins"))
        .context("run scripts/install-wasm-toolchain.sh")?;
    let description = format!("{}wit-component: 0.254\n", toolchain.description());
    Ok((toolchain, description))
}

/// Every plugin crate: (output name, cargo artifact name, test plugin?).
const PLUGINS: &[(&str, &str, bool)] = &[
    ("git", "ops_plugin_git", false),
    ("rsync", "ops_plugin_rsync", false),
    ("docker", "ops_plugin_docker", false),
    ("buildah", "ops_plugin_buildah", false),
    ("token-auth", "ops_plugin_token_auth", false),
    ("rogue", "ops_plugin_rogue", true),
    ("http-token", "ops_plugin_http_token", true),
    ("wasi-probe", "ops_plugin_wasi_probe", true),
    ("dir-sync", "ops_plugin_dir_sync", true),
    ("plain-builder", "ops_plugin_plain_builder", true),
    ("check-probe", "ops_plugin_check_probe", true),
];

const TOOLCHAIN_FILE: &str = "TOOLCHAIN";

pub(crate) fn repo_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent folder")
}

pub fn build_into_dist() -> Result<()> {
    let root = repo_root()?;
    let dist = root.join("plugins/dist");
    let toolchain = detect(&root)?;
    build(&root, &toolchain, &dist)?;
    for (name, _, testing) in PLUGINS {
        let path = output_path(&dist, name, *testing);
        let bytes = std::fs::read(&path)?;
        println!(
            "{:<28} {:>8} bytes  sha256 {}",
            path.strip_prefix(&root).unwrap_or(&path).display(),
            bytes.len(),
            &hex::encode(Sha256::digest(&bytes))[..16]
        );
    }
    Ok(())
}

pub fn check() -> Result<()> {
    let root = repo_root()?;
    let dist = root.join("plugins/dist");
    let toolchain = detect(&root)?;
    let scratch = tempdir(&root)?;
    let result = check_in(&root, &toolchain, &dist, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn check_in(
    root: &Path,
    toolchain: &(Toolchain, String),
    dist: &Path,
    rebuilt: &Path,
) -> Result<()> {
    build(root, toolchain, rebuilt)?;
    let recorded = std::fs::read_to_string(dist.join(TOOLCHAIN_FILE)).unwrap_or_default();
    let mut stale = Vec::new();
    for (name, _, testing) in PLUGINS {
        let committed = std::fs::read(output_path(dist, name, *testing)).unwrap_or_default();
        let fresh = std::fs::read(output_path(rebuilt, name, *testing))?;
        if committed != fresh {
            stale.push(*name);
        }
    }
    if stale.is_empty() {
        println!("plugins/dist is up to date ({} components)", PLUGINS.len());
        return Ok(());
    }
    if recorded == toolchain.1 {
        bail!(
            "plugins/dist is stale for: {}; run `cargo xtask plugins` and commit plugins/dist",
            stale.join(", ")
        );
    }
    // Another compiler gives other bytes for the same sources; that is drift,
    // not staleness. Test what this toolchain builds from the sources.
    copy_tree(rebuilt, dist)?;
    println!(
        "toolchain drift: plugins/dist was built by\n{}\nthis machine has\n{}\n\
         rebuilt components differ for: {}; using the rebuild for this run",
        indent(&recorded),
        indent(&toolchain.1),
        stale.join(", ")
    );
    Ok(())
}

fn build(root: &Path, (toolchain, description): &(Toolchain, String), out: &Path) -> Result<()> {
    let workspace = root.join("plugins");
    let target_dir = workspace.join("target");
    let status = toolchain
        .build_command(&workspace, &target_dir)?
        .args(["--locked", "--workspace"])
        .status()
        .context("cannot run cargo for the plugins")?;
    if !status.success() {
        bail!("building the plugins failed ({status})");
    }
    std::fs::create_dir_all(out.join("testing"))?;
    for (name, artifact, testing) in PLUGINS {
        let module_path = toolchain.artifact(&target_dir, artifact);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("reading {}", module_path.display()))?;
        let component = wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&module)
            .with_context(|| format!("{name}: reading the core module"))?
            .encode()
            .with_context(|| format!("{name}: encoding the component"))?;
        write_if_changed(&output_path(out, name, *testing), &component)?;
    }
    write_if_changed(&out.join(TOOLCHAIN_FILE), description.as_bytes())?;
    Ok(())
}

fn output_path(dir: &Path, name: &str, testing: bool) -> PathBuf {
    if testing {
        dir.join("testing").join(format!("{name}.wasm"))
    } else {
        dir.join(format!("{name}.wasm"))
    }
}

/// Leaves identical files untouched so that cargo does not rebuild the host
/// (it embeds them) when nothing changed.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to.join("testing"))?;
    for (name, _, testing) in PLUGINS {
        write_if_changed(
            &output_path(to, name, *testing),
            &std::fs::read(output_path(from, name, *testing))?,
        )?;
    }
    write_if_changed(
        &to.join(TOOLCHAIN_FILE),
        &std::fs::read(from.join(TOOLCHAIN_FILE))?,
    )
}

fn tempdir(root: &Path) -> Result<PathBuf> {
    let dir = root
        .join("plugins/target")
        .join(format!("check-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}\n"))
        .collect::<String>()
        .trim_end()
        .to_owned()
}
