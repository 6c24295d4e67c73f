//! `BuildFixture`: everything one `ops build` test needs, started fresh per
//! test so that tests run in parallel without sharing state:
//!
//! - a build node: a real sshd on 127.0.0.1 whose sessions get `HOME` and
//!   `TMPDIR` inside the fixture's directory, so every file a run leaves on
//!   the node can be found and searched afterwards;
//! - a registry with htpasswd auth, read back over its HTTP API;
//! - a git origin (`GitOrigin::local`) with branches, tags and a submodule;
//! - a client `HOME` that trusts the node, and the `ops.toml` written from
//!   [`BuildConfig`] just before each run.
//!
//! ```ignore
//! let fx = BuildFixture::new();
//! let run = fx.build(&["--service", "api"]);
//! run.expect_success();
//! assert_eq!(fx.service_info("api", "latest").version, "hello main");
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::docker::Docker;
use super::eventually::eventually;
use super::git::GitOrigin;
use super::home::TestHome;
use super::ops::{OpsCommand, OpsOutput};
use super::registry::{random_hex, Registry};
use super::sshd::Sshd;

/// The environment variable ops.toml names for the registry token.
pub const TOKEN_VAR: &str = "OPS_TEST_REGISTRY_TOKEN";
/// The example project's services, in ops.toml order.
pub const SERVICES: [&str; 3] = ["api", "worker", "web"];

/// The values `ops` should see from `ops.toml`; tests change fields before
/// a run. `$` is written as `$$` (ops.toml's literal dollar), except in
/// `token` and `image.token`, written verbatim so that they can name a
/// variable.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    pub target: String,
    pub path: String,
    pub command: String,
    pub source: String,
    pub branch: Option<String>,
    /// `build.artifacts`; not written when empty.
    pub artifacts: Vec<String>,
    pub repo: String,
    pub ssh_key: Option<String>,
    pub known_hosts: Option<Vec<String>>,
    pub forward_agent: Option<bool>,
    /// `[build.git] token`, written verbatim (normally `$VAR`).
    pub token: Option<String>,
    /// `None`: no `[build.image]` section.
    pub image: Option<ImageConfig>,
}

#[derive(Debug, Clone)]
pub struct ImageConfig {
    pub dockerfile: String,
    pub registry: String,
    /// Written verbatim (normally `$OPS_TEST_REGISTRY_TOKEN`).
    pub token: Option<String>,
    pub username: String,
    pub prefix: String,
    pub binary_arg: String,
    pub services: Vec<String>,
    /// More `[build.image]` lines, written verbatim (`plugin = "buildah"`).
    pub extra: String,
}

/// A TOML basic string (JSON's escapes are a subset of TOML's).
pub fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

impl BuildConfig {
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml_string(&s.replace('$', "$$"));
        let mut t = format!("project = \"hello\"\ntarget = {}\n\n", q(&self.target));
        t.push_str(&format!(
            "[build]\npath = {}\ncommand = {}\nsource = {}\n",
            q(&self.path),
            q(&self.command),
            q(&self.source)
        ));
        if let Some(branch) = &self.branch {
            t.push_str(&format!("branch = {}\n", q(branch)));
        }
        if !self.artifacts.is_empty() {
            let items: Vec<String> = self.artifacts.iter().map(|a| q(a)).collect();
            t.push_str(&format!("artifacts = [{}]\n", items.join(", ")));
        }
        t.push_str(&format!("\n[build.git]\nrepo = {}\n", q(&self.repo)));
        if let Some(key) = &self.ssh_key {
            t.push_str(&format!("ssh_key = {}\n", q(key)));
        }
        if let Some(forward) = self.forward_agent {
            t.push_str(&format!("forward_agent = {forward}\n"));
        }
        if let Some(lines) = &self.known_hosts {
            let lines: Vec<String> = lines.iter().map(|l| q(l)).collect();
            t.push_str(&format!("known_hosts = [{}]\n", lines.join(", ")));
        }
        if let Some(token) = &self.token {
            t.push_str(&format!("token = {}\n", toml_string(token)));
        }
        if let Some(image) = &self.image {
            let services: Vec<String> = image.services.iter().map(|s| q(s)).collect();
            t.push_str(&format!(
                "\n[build.image]\ndockerfile = {}\nregistry = {}\nusername = {}\nprefix = {}\n\
                 binary_arg = {}\nservices = [{}]\n",
                q(&image.dockerfile),
                q(&image.registry),
                q(&image.username),
                q(&image.prefix),
                q(&image.binary_arg),
                services.join(", ")
            ));
            if let Some(token) = &image.token {
                t.push_str(&format!("token = {}\n", toml_string(token)));
            }
            t.push_str(&image.extra);
        }
        t
    }
}

/// `/service.txt` of a pushed image, as the example's build.sh writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    pub service: String,
    pub version: String,
    pub commit: String,
    pub vendored: String,
    pub build: u32,
}

impl ServiceInfo {
    pub fn parse(text: &str) -> ServiceInfo {
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .collect();
        let get = |k: &str| {
            fields
                .get(k)
                .unwrap_or_else(|| panic!("no {k}= in service.txt:\n{text}"))
                .to_string()
        };
        ServiceInfo {
            service: get("service"),
            version: get("version"),
            commit: get("commit"),
            vendored: get("vendored"),
            build: get("build").parse().expect("build= is a number"),
        }
    }
}

/// The images a fixture's builds leave in the shared dockerd are not removed:
/// the legacy builder reuses identical layers across concurrent builds (the
/// example's intermediate steps are the same for every test), and removing
/// an image while another build takes it from the cache fails that build
/// ("unknown parent image ID"). They are tiny and tagged under the
/// fixture's own registry port and namespace.
pub struct BuildFixture {
    pub home: TestHome,
    pub node: Sshd,
    pub registry: Registry,
    pub origin: GitOrigin,
    pub docker: Docker,
    pub config: BuildConfig,
    /// Node HOME, node TMPDIR, build path and marker files live here.
    dir: TempDir,
    /// The image namespace under the registry host, unique per fixture.
    name: String,
}

impl Default for BuildFixture {
    fn default() -> Self {
        Self::new()
    }
}

impl BuildFixture {
    pub fn new() -> BuildFixture {
        Self::with_node_env(&[])
    }

    /// A fixture whose node sessions also get `env` (as sshd's SetEnv).
    pub fn with_node_env(env: &[(&str, &str)]) -> BuildFixture {
        let dir = tempfile::Builder::new()
            .prefix("ops-build-test-")
            .tempdir()
            .expect("fixture dir");
        let node_home = dir.path().join("node-home");
        let node_tmp = dir.path().join("node-tmp");
        fs::create_dir_all(&node_home).unwrap();
        fs::create_dir_all(&node_tmp).unwrap();
        let home = TestHome::new();
        // SetEnv overrides the session's environment, so everything the
        // node's programs put in $HOME or $TMPDIR lands in this fixture.
        let node = Sshd::builder()
            .authorize(home.user_public_key())
            .config_line(&format!(
                "SetEnv HOME={} TMPDIR={}{}",
                node_home.display(),
                node_tmp.display(),
                env.iter()
                    .map(|(k, v)| format!(" {k}={v}"))
                    .collect::<String>()
            ))
            .start();
        home.trust(&node);
        let registry = Registry::start();
        let origin = GitOrigin::local();
        let docker = Docker::new();
        let name = format!("t{}", random_hex(4));
        let config = BuildConfig {
            target: node.destination(),
            path: dir.path().join("builds/hello").display().to_string(),
            command: "sh build.sh".into(),
            source: "git".into(),
            branch: None,
            artifacts: Vec::new(),
            repo: origin.url(),
            ssh_key: None,
            known_hosts: None,
            forward_agent: None,
            token: None,
            image: Some(ImageConfig {
                dockerfile: "Dockerfile.prod".into(),
                registry: registry.host(),
                token: Some(format!("${TOKEN_VAR}")),
                username: registry.username().into(),
                prefix: format!("{}/{name}", registry.host()),
                binary_arg: "SERVICE_BINARY".into(),
                services: SERVICES.iter().map(|s| s.to_string()).collect(),
                extra: String::new(),
            }),
        };
        BuildFixture {
            home,
            node,
            registry,
            origin,
            docker,
            config,
            dir,
            name,
        }
    }

    /// The fixture's own directory (node HOME, TMPDIR, builds, markers).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `build.path` on the node as currently configured.
    pub fn build_path(&self) -> PathBuf {
        PathBuf::from(&self.config.path)
    }

    pub fn node_home(&self) -> PathBuf {
        self.dir().join("node-home")
    }

    pub fn node_tmp(&self) -> PathBuf {
        self.dir().join("node-tmp")
    }

    /// A path for a marker file that hostile input would create if it ran.
    pub fn marker(&self, name: &str) -> PathBuf {
        self.dir().join(format!("marker-{name}"))
    }

    pub fn image_config(&mut self) -> &mut ImageConfig {
        self.config
            .image
            .as_mut()
            .expect("[build.image] configured")
    }

    /// The repository of `service` in the registry (`tXXXX/api`).
    pub fn repo(&self, service: &str) -> String {
        format!("{}/{service}", self.name)
    }

    /// The full image reference ops builds for `service` at `tag`.
    pub fn image(&self, service: &str, tag: &str) -> String {
        format!("{}/{}:{tag}", self.registry.host(), self.repo(service))
    }

    /// Writes ops.toml into the client home (where ops runs).
    pub fn write_config(&self) -> PathBuf {
        self.write_config_to("ops.toml")
    }

    /// Writes the config to `relative` under the client home.
    pub fn write_config_to(&self, relative: &str) -> PathBuf {
        self.home.write(relative, &self.config.to_toml())
    }

    /// `ops ARGS` in the client home with the registry token in the
    /// environment; ops.toml is not (re)written.
    /// Writes `~/.docker/config.json` with the fixture registry's login,
    /// as `docker login` would (what `ops plugin push` and `oci://`
    /// plugins read).
    pub fn docker_login(&self) {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.registry.username(),
            self.registry.token()
        ));
        self.home.write(
            ".docker/config.json",
            &format!(
                r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
                self.registry.host()
            ),
        );
    }

    pub fn ops(&self) -> OpsCommand {
        self.home.ops().env(TOKEN_VAR, self.registry.token())
    }

    /// Writes ops.toml and runs `ops build ARGS`.
    pub fn build(&self, args: &[&str]) -> OpsOutput {
        self.write_config();
        self.ops().arg("build").args(args).run()
    }

    /// Like `build`, checking that the run succeeded on exactly one new SSH
    /// login to the node.
    #[track_caller]
    pub fn build_ok(&self, args: &[&str]) -> OpsOutput {
        let before = self.node.logins();
        let out = self.build(args);
        out.expect_success();
        assert_eq!(
            self.node.logins() - before,
            1,
            "expected exactly one SSH login for one run; sshd log:\n{}",
            self.node.log()
        );
        out
    }

    /// `/service.txt` of `service:tag`, read from the registry.
    #[track_caller]
    pub fn service_info(&self, service: &str, tag: &str) -> ServiceInfo {
        let text = self
            .registry
            .read_file_string(&self.repo(service), tag, "/service.txt")
            .unwrap_or_else(|| {
                panic!(
                    "{} is not in the registry (catalog: {:?})",
                    self.image(service, tag),
                    self.registry.catalog()
                )
            });
        ServiceInfo::parse(&text)
    }

    /// Panics unless the registry has no repository at all.
    #[track_caller]
    pub fn assert_nothing_pushed(&self) {
        let catalog = self.registry.catalog();
        assert!(catalog.is_empty(), "the registry has {catalog:?}");
    }

    /// Images in the node's dockerd under this fixture's prefix.
    pub fn node_images(&self) -> Vec<String> {
        let prefix = format!("{}/{}/", self.registry.host(), self.name);
        self.docker
            .run(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(str::to_owned)
            .collect()
    }

    /// Files under `roots` whose bytes contain `needle`.
    pub fn files_containing(roots: &[&Path], needle: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for root in roots {
            walk(root, &mut |path| {
                if let Ok(bytes) = fs::read(path) {
                    if contains(&bytes, needle.as_bytes()) {
                        found.push(path.to_path_buf());
                    }
                }
            });
        }
        found
    }

    /// What the run left in the node's TMPDIR (scratch directories).
    /// Panics if the folder cannot be read: a run that removed the TMPDIR
    /// itself did not leave it empty.
    #[track_caller]
    pub fn node_tmp_entries(&self) -> Vec<String> {
        let tmp = self.node_tmp();
        fs::read_dir(&tmp)
            .unwrap_or_else(|e| panic!("the node's TMPDIR {tmp:?}: {e}"))
            .map(|entry| {
                let entry = entry.unwrap_or_else(|e| panic!("reading {tmp:?}: {e}"));
                entry.file_name().to_string_lossy().into_owned()
            })
            .collect()
    }

    /// Waits until the node's TMPDIR is empty again (what a run leaves is
    /// removed in the background once it ends), naming `what` if not.
    #[track_caller]
    pub fn wait_node_tmp_empty(&self, within: Duration, what: &str) {
        eventually(within, what, || {
            let left = self.node_tmp_entries();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        })
    }

    /// Waits until `ops` (`child`, running this fixture's build) has
    /// logged in to the registry on the node: its throwaway docker config
    /// holds the credentials. Panics if `ops` ends first.
    #[track_caller]
    pub fn wait_registry_login(&self, child: &mut Child) {
        eventually(
            Duration::from_secs(60),
            "the registry login on the node",
            || {
                if !Self::files_containing(&[&self.node_tmp()], "auths").is_empty() {
                    return Ok(());
                }
                match child.try_wait() {
                    Ok(Some(status)) => panic!("ops ended ({status}) before the registry login"),
                    _ => Err("no docker config with credentials in the node's TMPDIR"),
                }
            },
        )
    }
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, visit),
            Ok(t) if t.is_file() => visit(&path),
            _ => {}
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `--output json` stdout as events; panics on a line that is not one JSON
/// object with an `event` field.
#[track_caller]
pub fn json_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nall stdout:\n{stdout}"));
            assert!(
                value.is_object() && value["event"].is_string(),
                "not an event object: {line}"
            );
            value
        })
        .collect()
}

/// Every process's command line on this machine, one per line: secrets
/// must never show up here while a run is going on.
pub fn all_argv() -> String {
    let mut all = String::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            if let Ok(bytes) = fs::read(entry.path().join("cmdline")) {
                all.push_str(&String::from_utf8_lossy(&bytes).replace('\0', " "));
                all.push('\n');
            }
        }
    }
    all
}
