//! `ops init`: a commented `ops.toml` for the project in the current
//! directory, filled in from what is there (the git remote, a Dockerfile,
//! Cargo binaries or package.json). It never overwrites a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::anyhow;

use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// What `ops init` found in the project directory.
#[derive(Debug, Default, PartialEq)]
pub struct Project {
    pub name: String,
    pub git_remote: Option<String>,
    pub dockerfile: Option<String>,
    pub services: Vec<String>,
    pub command: Option<String>,
}

/// What `ops init` was asked to do.
#[derive(Debug, Clone)]
pub struct InitSettings {
    /// The project folder.
    pub dir: PathBuf,
    /// `-f`: the file to write, relative to `dir`.
    pub config_file: PathBuf,
}

pub fn run(settings: InitSettings, printer: &Printer) -> Result<Exit, Failure> {
    write_in(&settings.dir, &settings.config_file, printer)
}

fn write_in(dir: &Path, file: &Path, printer: &Printer) -> Result<Exit, Failure> {
    let path = dir.join(file);
    let project = detect(dir);
    let text = render(&project);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Failure::new(
                Exit::Usage,
                anyhow!(
                    "{} already exists; ops init never overwrites (check it with `ops config \
                     check -f {}`)",
                    path.display(),
                    file.display()
                ),
            ))
        }
        Err(err) => {
            return Err(Failure::new(
                Exit::Internal,
                anyhow!("cannot write {}: {err}", path.display()),
            ))
        }
    }
    printer.info(format!("wrote {}", path.display()));
    for (found, what) in [
        (
            project.git_remote.is_some(),
            "build.git.repo from the git remote",
        ),
        (project.dockerfile.is_some(), "the Dockerfile"),
        (
            !project.services.is_empty(),
            "services from the project's binaries",
        ),
    ] {
        if found {
            printer.info(format!("  found {what}"));
        }
    }
    printer.info("set `target` to your build node, then run `ops config check`");
    Ok(Exit::Success)
}

pub fn detect(dir: &Path) -> Project {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".into());
    let mut project = Project {
        name: image_component(&name),
        git_remote: git_remote(dir),
        dockerfile: ["Dockerfile", "Dockerfile.prod", "docker/Dockerfile"]
            .into_iter()
            .find(|f| dir.join(f).is_file())
            .map(String::from),
        ..Project::default()
    };
    if let Some(bins) = cargo_bins(&dir.join("Cargo.toml")) {
        project.services = bins;
        project.command = Some("cargo build --release".into());
    } else if let Some(name) = package_name(&dir.join("package.json")) {
        project.services = vec![name];
        project.command = Some("npm ci && npm run build".into());
    }
    project.services = project
        .services
        .iter()
        .map(|s| image_component(s))
        .collect();
    project.services.dedup();
    project
}

fn git_remote(dir: &Path) -> Option<String> {
    let out = Command::new("git")
        .args(["remote", "get-url", "origin"])
        .current_dir(dir)
        .output()
        .ok()?;
    let url = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !url.is_empty()).then_some(url)
}

/// `[[bin]]` names, else the package name when there is a `src/main.rs`,
/// also across a workspace's members.
fn cargo_bins(manifest: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(manifest).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut bins: Vec<String> = doc
        .get("bin")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("name")?.as_str().map(String::from))
        .collect();
    let package = doc.get("package").and_then(|p| p.get("name")?.as_str());
    if bins.is_empty() && dir.join("src/main.rs").is_file() {
        bins.extend(package.map(String::from));
    }
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members")?.as_array().cloned())
        .unwrap_or_default();
    for member in members.iter().filter_map(|m| m.as_str()) {
        // Globs (`crates/*`) are left to the user to list.
        if !member.contains('*') {
            bins.extend(cargo_bins(&dir.join(member).join("Cargo.toml")).unwrap_or_default());
        }
    }
    Some(bins)
}

fn package_name(package_json: &Path) -> Option<String> {
    let text = fs::read_to_string(package_json).ok()?;
    let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = doc.get("name")?.as_str()?;
    // A scoped name's last part names the service.
    Some(name.rsplit('/').next().unwrap_or(name).to_owned())
}

/// Lowercase letters, digits and `-`, as an image name component must be.
fn image_component(name: &str) -> String {
    let cleaned: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "app".into()
    } else {
        trimmed.to_owned()
    }
}

pub fn render(p: &Project) -> String {
    let services = if p.services.is_empty() {
        vec![p.name.clone()]
    } else {
        p.services.clone()
    };
    let services = services
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (source, sync) = match &p.git_remote {
        Some(url) => (
            "git",
            format!(
                "[build.git]\n# The node clones or fetches this (from the local git remote).\nrepo = {url:?}\n"
            ),
        ),
        None => (
            "push",
            "# No git remote was found, so the local tree is rsynced to the node.\n".to_owned(),
        ),
    };
    let command = p.command.as_deref().unwrap_or("make");
    let dockerfile = p.dockerfile.as_deref().unwrap_or("Dockerfile");
    let mut out = String::new();
    out += "# ops.toml: how `ops build` builds this project on a build node.\n";
    out += "# Every key is in docs/config.md; check this file with `ops config check`.\n\n";
    out += &format!("project = {:?}\n", p.name);
    out += "# The build node: a [nodes] id or name, or an SSH destination (host,\n";
    out += "# user@host:port or a Host alias from ~/.ssh/config).\n";
    out += "target = \"build-node\"\n\n";
    out += "[build]\n";
    out += "# Where the code lives on the node (`~` is the node user's home).\n";
    out += &format!("path = \"~/builds/{}\"\n", p.name);
    out += "# Runs in `path` on the node before any image is built.\n";
    out += &format!("command = {command:?}\n");
    out += "# Files under `path` fetched back into ops-artifacts/ after the command.\n";
    out += "# artifacts = [\"target/release/app\"]\n";
    out += "# `git`: the node fetches build.git.repo; `push`: rsync of this tree.\n";
    out += &format!("source = \"{source}\"\n\n");
    out += &sync;
    out += "\n[build.image]\n";
    out += &format!("dockerfile = {dockerfile:?}\n");
    out += "# Images are {prefix}/{service}:{tag}; the registry is the prefix's host.\n";
    out += &format!("prefix = \"registry.example.com/{}\"\n", p.name);
    out += &format!("services = [{services}]\n");
    out += "# Each image is built with --build-arg SERVICE_BINARY=<service>.\n";
    out += "binary_arg = \"SERVICE_BINARY\"\n";
    out += "# A registry token, read from the environment when ops runs.\n";
    out += "# token = \"$REGISTRY_TOKEN\"\n";
    out += "\n# Local commands around a build (docs/hooks.md); they need `ops trust`.\n";
    out += "# [hooks]\n";
    out += "# pre_build = \"git diff --quiet\"   # runs here before connecting\n";
    out += "# post_push = \"echo \\\"$OPS_IMAGES\\\"\"\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_cargo_binaries_across_a_workspace_and_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Cargo.toml",
            "[workspace]\nmembers = [\"api\", \"tools\"]\n",
        );
        write(d, "api/Cargo.toml", "[package]\nname = \"api\"\n");
        write(d, "api/src/main.rs", "fn main() {}");
        write(
            d,
            "tools/Cargo.toml",
            "[package]\nname = \"tools\"\n[[bin]]\nname = \"Worker_1\"\n[[bin]]\nname = \"web\"\n",
        );
        write(d, "Dockerfile", "FROM scratch\n");
        let project = detect(d);
        assert_eq!(project.services, ["api", "worker-1", "web"]);
        assert_eq!(project.dockerfile.as_deref(), Some("Dockerfile"));
        assert_eq!(project.command.as_deref(), Some("cargo build --release"));
        assert_eq!(project.git_remote, None);
    }

    #[test]
    fn finds_a_node_package_and_the_git_remote() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "package.json", r#"{"name": "@acme/front-end"}"#);
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(d)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["remote", "add", "origin", "git@example.com:acme/front.git"]);
        let project = detect(d);
        assert_eq!(project.services, ["front-end"]);
        assert_eq!(
            project.git_remote.as_deref(),
            Some("git@example.com:acme/front.git")
        );
        let text = render(&project);
        assert!(
            text.contains("repo = \"git@example.com:acme/front.git\""),
            "{text}"
        );
        assert!(text.contains("source = \"git\""), "{text}");
    }

    #[test]
    fn the_written_file_is_a_valid_config_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "Cargo.toml", "[package]\nname = \"hello\"\n");
        write(d, "src/main.rs", "fn main() {}");
        let printer = Printer::new(
            crate::output::Format::Human,
            crate::output::Verbosity::Quiet,
            crate::output::Redactor::new(),
        );
        write_in(d, Path::new("ops.toml"), &printer).unwrap();
        let written = fs::read_to_string(d.join("ops.toml")).unwrap();
        let config = crate::config::Config::load(&d.join("ops.toml"), printer.redactor()).unwrap();
        let build = config.build.as_ref().unwrap();
        assert_eq!(
            build.command.as_ref().map(|c| c.as_str()),
            Some("cargo build --release")
        );

        fs::write(d.join("ops.toml"), "mine").unwrap();
        let err = write_in(d, Path::new("ops.toml"), &printer).unwrap_err();
        assert_eq!(err.exit, Exit::Usage);
        assert!(
            err.error.to_string().contains("never overwrites"),
            "{}",
            err.error
        );
        assert_eq!(fs::read_to_string(d.join("ops.toml")).unwrap(), "mine");
        assert!(written.contains("services = [\"hello\"]"), "{written}");
    }
}
