//! A real registry (Debian's `docker-registry`, distribution v2) on
//! 127.0.0.1 with htpasswd auth, and read-back over its HTTP API: tags,
//! manifests, digests and files inside pushed images. Read-back goes to the
//! registry itself, never through docker, whose local image store would
//! hide a push that did not happen.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;

use super::eventually::eventually;
use super::port::ReservedPort;

const MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MANIFEST_LIST_V2: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const START_WAIT: Duration = Duration::from_secs(30);

/// A running registry; killed and its storage removed on drop.
pub struct Registry {
    dir: TempDir,
    port: u16,
    username: String,
    token: String,
    child: Child,
    agent: ureq::Agent,
}

/// A manifest as the registry serves it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `Docker-Content-Digest` of the manifest that `reference` names.
    pub digest: String,
    pub media_type: String,
    /// The image manifest (for a list or index: the linux/amd64 entry's).
    pub json: Value,
}

/// An HTTP answer from the registry.
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Registry {
    /// Starts a registry on a free port with user `ops` and a random token
    /// as its password. Panics if it does not come up.
    pub fn start() -> Registry {
        Self::start_as("ops")
    }

    /// Like `start`, with the given user name.
    pub fn start_as(username: &str) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("ops-test-registry-")
            .tempdir()
            .expect("registry dir");
        let token = random_hex(16);
        let htpasswd = dir.path().join("htpasswd");
        fs::write(&htpasswd, htpasswd_line(username, &token)).expect("write htpasswd");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();

        let config = dir.path().join("config.yml");
        let log_path = dir.path().join("registry.log");
        // Held until the registry serves on the port, so nobody else takes it.
        let reserved = ReservedPort::new();
        let port = reserved.port();
        fs::write(&config, config_yaml(dir.path(), port, &htpasswd)).expect("write config");
        let log = fs::File::create(&log_path).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry (install the docker-registry package)");
        // Built first so that a registry which never serves is killed too.
        let mut registry = Registry {
            dir,
            port,
            username: username.to_owned(),
            token,
            child,
            agent,
        };
        wait_ready(&registry.agent, port, &mut registry.child, &log_path);
        drop(reserved);
        registry
    }

    /// `127.0.0.1:PORT`, the registry's name for `docker login` and image
    /// references. dockerd treats 127.0.0.0/8 as insecure, so plain HTTP works.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password of `username()`: the secret the tests hand to ops.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `HOST/NAME`, e.g. an image prefix for ops.toml.
    pub fn image(&self, name: &str) -> String {
        format!("{}/{}", self.host(), name)
    }

    /// Where the registry keeps its blobs and repositories.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's own log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// GET `path` (starting with `/v2/`) with the given basic-auth
    /// credentials, or none.
    pub fn get_as(
        &self,
        path: &str,
        credentials: Option<(&str, &str)>,
    ) -> Result<Answer, ureq::Error> {
        self.request(path, credentials, &[])
    }

    /// GET `path` with this registry's credentials; panics on transport errors.
    pub fn get(&self, path: &str, accept: &[&str]) -> Answer {
        self.request(path, Some((&self.username, &self.token)), accept)
            .unwrap_or_else(|e| panic!("GET {path} from registry {}: {e}", self.host()))
    }

    fn request(
        &self,
        path: &str,
        credentials: Option<(&str, &str)>,
        accept: &[&str],
    ) -> Result<Answer, ureq::Error> {
        fetch(
            &self.agent,
            &format!("http://{}{}", self.host(), path),
            credentials,
            accept,
        )
    }

    fn get_ok(&self, path: &str, accept: &[&str]) -> Option<Answer> {
        let answer = self.get(path, accept);
        match answer.status {
            200 => Some(answer),
            404 => None,
            s => panic!(
                "GET {path} from registry {}: HTTP {s}: {}",
                self.host(),
                String::from_utf8_lossy(&answer.body)
            ),
        }
    }

    /// Repository names in the registry (`_catalog`).
    pub fn catalog(&self) -> Vec<String> {
        let answer = self.get_ok("/v2/_catalog", &[]).expect("catalog");
        strings(&json(&answer.body)["repositories"])
    }

    /// Tags of `repo`; empty when the repository does not exist.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        match self.get_ok(&format!("/v2/{repo}/tags/list"), &[]) {
            Some(answer) => strings(&json(&answer.body)["tags"]),
            None => Vec::new(),
        }
    }

    /// The manifest `repo:reference` names (reference: tag or digest), or
    /// `None` when the registry has no such manifest. For a manifest list or
    /// OCI index, `json` is the linux/amd64 image's manifest while `digest`
    /// stays the one the reference names.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<Manifest> {
        let accept = [MANIFEST_V2, OCI_MANIFEST, MANIFEST_LIST_V2, OCI_INDEX];
        let answer = self.get_ok(&format!("/v2/{repo}/manifests/{reference}"), &accept)?;
        let digest = answer
            .headers
            .get("docker-content-digest")
            .cloned()
            .expect("registry sent no Docker-Content-Digest");
        assert_eq!(
            digest,
            sha256_digest(&answer.body),
            "Docker-Content-Digest does not match the manifest bytes"
        );
        let mut media_type = answer
            .headers
            .get("content-type")
            .cloned()
            .unwrap_or_default();
        let mut manifest = json(&answer.body);
        if media_type == MANIFEST_LIST_V2 || media_type == OCI_INDEX {
            let entries = manifest["manifests"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let chosen = entries
                .iter()
                .find(|m| {
                    m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64"
                })
                .or(entries.first())
                .expect("empty manifest list");
            let inner = chosen["digest"].as_str().expect("digest in manifest list");
            let answer = self
                .get_ok(&format!("/v2/{repo}/manifests/{inner}"), &accept)
                .expect("manifest named by the list");
            media_type = answer
                .headers
                .get("content-type")
                .cloned()
                .unwrap_or_default();
            manifest = json(&answer.body);
        }
        Some(Manifest {
            digest,
            media_type,
            json: manifest,
        })
    }

    /// The digest of `repo:reference`, as `docker push` reports it.
    pub fn digest(&self, repo: &str, reference: &str) -> Option<String> {
        self.manifest(repo, reference).map(|m| m.digest)
    }

    /// A blob's bytes, checked against its digest.
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let answer = self
            .get_ok(&format!("/v2/{repo}/blobs/{digest}"), &[])
            .unwrap_or_else(|| panic!("blob {digest} of {repo} missing"));
        assert_eq!(
            sha256_digest(&answer.body),
            digest,
            "blob content does not match its digest"
        );
        answer.body
    }

    /// The image config (env, labels, history ...) of `repo:reference`.
    pub fn config(&self, repo: &str, reference: &str) -> Option<Value> {
        let manifest = self.manifest(repo, reference)?;
        let digest = manifest.json["config"]["digest"]
            .as_str()
            .expect("config digest");
        Some(json(&self.blob(repo, digest)))
    }

    /// The content of the regular file at absolute `path` in the image
    /// `repo:reference`, applying its layers in order (whiteouts included).
    /// `None` if the image or the file does not exist.
    pub fn read_file(&self, repo: &str, reference: &str, path: &str) -> Option<Vec<u8>> {
        let manifest = self.manifest(repo, reference)?;
        let want = path.trim_start_matches('/').to_owned();
        let mut content = None;
        for layer in manifest.json["layers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let digest = layer["digest"].as_str().expect("layer digest");
            let media_type = layer["mediaType"].as_str().unwrap_or_default();
            let blob = self.blob(repo, digest);
            let (hidden, found) = scan_layer(&blob, media_type, &want);
            if hidden {
                content = None;
            }
            if found.is_some() {
                content = found;
            }
        }
        content
    }

    /// `read_file` as UTF-8 text.
    pub fn read_file_string(&self, repo: &str, reference: &str, path: &str) -> Option<String> {
        self.read_file(repo, reference, path)
            .map(|b| String::from_utf8(b).expect("file is not UTF-8"))
    }
}

impl Registry {
    /// Stops the registry now (its storage stays until drop): what a
    /// client sees of a registry it can no longer reach.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the registry on `port` serves its API; panics with its log
/// if it exits or time runs out.
fn wait_ready(agent: &ureq::Agent, port: u16, child: &mut Child, log: &Path) {
    let url = format!("http://127.0.0.1:{port}/v2/");
    eventually(START_WAIT, "the registry serving its API", || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "docker-registry exited ({status}):\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        // The API root answers 401 without credentials once it serves.
        match fetch(agent, &url, None, &[]) {
            Ok(answer) if answer.status == 401 => Ok(()),
            Ok(answer) => Err(format!("status {}", answer.status)),
            Err(e) => Err(e.to_string()),
        }
    })
}

fn fetch(
    agent: &ureq::Agent,
    url: &str,
    credentials: Option<(&str, &str)>,
    accept: &[&str],
) -> Result<Answer, ureq::Error> {
    let mut req = agent.get(url);
    if let Some((user, password)) = credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req = req.header("Authorization", &format!("Basic {basic}"));
    }
    if !accept.is_empty() {
        req = req.header("Accept", &accept.join(", "));
    }
    let response = req.call()?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .read_to_end(&mut body)
        .map_err(ureq::Error::Io)?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Looks for `want` (relative path) in one layer. Returns whether the layer
/// hides lower layers' copy (a whiteout of it or of a parent, or an opaque
/// parent directory) and the layer's own copy, if it has one.
fn scan_layer(blob: &[u8], media_type: &str, want: &str) -> (bool, Option<Vec<u8>>) {
    let reader: Box<dyn Read + '_> = if media_type.ends_with("gzip") {
        Box::new(flate2::read::GzDecoder::new(blob))
    } else if media_type.ends_with(".tar") || media_type.ends_with("tar") {
        Box::new(blob)
    } else {
        panic!("unsupported layer media type {media_type}");
    };
    let mut archive = tar::Archive::new(reader);
    let mut hidden = false;
    let mut found = None;
    for entry in archive.entries().expect("layer is a tar archive") {
        let mut entry = entry.expect("tar entry");
        let raw = entry
            .path()
            .expect("tar path")
            .to_string_lossy()
            .into_owned();
        let name = raw
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/');
        let (parent, base) = match name.rsplit_once('/') {
            Some((p, b)) => (p, b),
            None => ("", name),
        };
        let under = |dir: &str| dir.is_empty() || want.starts_with(&format!("{dir}/"));
        if base == ".wh..wh..opq" && under(parent) {
            hidden = true;
        } else if let Some(gone) = base.strip_prefix(".wh.") {
            let gone = if parent.is_empty() {
                gone.to_owned()
            } else {
                format!("{parent}/{gone}")
            };
            if want == gone || want.starts_with(&format!("{gone}/")) {
                hidden = true;
            }
        } else if name == want {
            if entry.header().entry_type().is_file() {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).expect("read file from layer");
                found = Some(data);
            } else {
                // A directory, link or device here replaces any lower file.
                hidden = true;
                found = None;
            }
        }
    }
    (hidden, found)
}

fn config_yaml(dir: &Path, port: u16, htpasswd: &Path) -> String {
    format!(
        "version: 0.1\n\
         log:\n  level: info\n  accesslog:\n    disabled: false\n\
         storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:{port}\n  secret: {secret}\n\
         auth:\n  htpasswd:\n    realm: ops-test\n    path: {htpasswd}\n",
        storage = dir.join("storage").display(),
        secret = random_hex(16),
        htpasswd = htpasswd.display(),
    )
}

/// A bcrypt htpasswd line from `htpasswd`, the password going in on stdin.
fn htpasswd_line(username: &str, password: &str) -> String {
    let mut child = Command::new("htpasswd")
        .args(["-n", "-B", "-i", username])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run htpasswd (install apache2-utils)");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(password.as_bytes())
        .expect("write password to htpasswd");
    let out = child.wait_with_output().expect("wait for htpasswd");
    assert!(
        out.status.success(),
        "htpasswd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("htpasswd output")
        .trim()
        .to_owned()
        + "\n"
}

/// `n` random bytes from the kernel, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    hex::encode(bytes)
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("registry answered with invalid JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
