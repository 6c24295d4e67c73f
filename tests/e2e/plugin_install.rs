//! `ops plugin install/remove/list/info/push`: the per-user store, and
//! plugins fetched from files, loopback HTTP and the real local registry
//! (htpasswd auth, credentials from a Docker config.json).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::support::{repo_root, sha256_hex as sha};
use base64::Engine as _;

use crate::support::home::TestHome;
use crate::support::registry::Registry;

/// A registry-auth plugin on the latest API, not a built-in.
fn http_token() -> PathBuf {
    repo_root().join("plugins/dist/testing/http-token.wasm")
}

fn store_record(home: &TestHome, name: &str) -> Option<serde_json::Value> {
    let path = home
        .path()
        .join(".local/share/ops/plugins")
        .join(name)
        .join("plugin.json");
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn install_from_a_file_then_list_info_and_remove() {
    let home = TestHome::new();
    let wasm = std::fs::read(http_token()).unwrap();
    let out = home
        .ops()
        .args(["plugin", "install"])
        .arg(http_token())
        .run();
    out.expect_success();
    assert!(
        out.stdout
            .contains("installed http-token 0.1.0 (registry-auth, plugin API 0.3.0)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("capabilities: http:127.0.0.1, http:localhost"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("[plugins.http-token]\ngrant = [\"http:127.0.0.1\", \"http:localhost\"]"),
        "{}",
        out.stdout
    );

    let record = store_record(&home, "http-token").expect("the store has it");
    assert_eq!(record["sha256"], sha(&wasm));
    let canonical = http_token().canonicalize().unwrap();
    assert_eq!(record["source"], canonical.display().to_string());
    let stored = home
        .path()
        .join(".local/share/ops/plugins/http-token/plugin.wasm");
    assert_eq!(std::fs::read(stored).unwrap(), wasm);
    let artifacts: Vec<String> = std::fs::read_dir(home.path().join(".cache/ops/components"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        artifacts
            .iter()
            .any(|a| a.starts_with(&sha(&wasm)) && a.ends_with(".cwasm")),
        "no compiled artifact in the cache: {artifacts:?}"
    );

    let out = home
        .ops()
        .args(["--output", "json", "plugin", "list"])
        .run();
    out.expect_success();
    let rows = json_lines(&out.stdout);
    let row = rows
        .iter()
        .find(|r| r["name"] == "http-token")
        .expect("listed");
    assert_eq!(row["sha256"], sha(&wasm));
    assert!(
        row["source"].as_str().unwrap().starts_with("store:"),
        "{row}"
    );
    assert!(rows
        .iter()
        .any(|r| r["name"] == "git" && r["source"] == "builtin"));

    // No ops.toml here: nothing is granted.
    let out = home.ops().args(["plugin", "info", "http-token"]).run();
    out.expect_success();
    assert!(
        out.stdout
            .contains(&format!("sha256:       {}", sha(&wasm))),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("plugin API:   0.3.0"), "{}", out.stdout);
    assert!(
        out.stdout.contains("granted:      none (no ops.toml"),
        "{}",
        out.stdout
    );

    let out = home.ops().args(["plugin", "remove", "http-token"]).run();
    out.expect_success();
    assert_eq!(out.stdout.trim(), "removed http-token 0.1.0");
    assert!(store_record(&home, "http-token").is_none());
    let out = home.ops().args(["plugin", "remove", "http-token"]).run();
    out.expect_code(2)
        .expect_stderr_contains("no installed plugin named `http-token` (none are installed)");
}

#[test]
fn info_shows_what_the_project_grants() {
    let home = TestHome::new();
    home.ops()
        .args(["plugin", "install"])
        .arg(http_token())
        .run()
        .expect_success();
    home.write(
        "ops.toml",
        &format!(
            "[plugins.http-token]\npath = \"{}\"\ngrant = [\"http:127.0.0.1\"]\n",
            http_token().display()
        ),
    );
    let out = home
        .ops()
        .args(["--output", "json", "plugin", "info", "http-token"])
        .run();
    out.expect_success();
    let info = &json_lines(&out.stdout)[0];
    assert_eq!(info["event"], "plugin_info");
    assert_eq!(info["granted"], serde_json::json!(["http:127.0.0.1"]));
    assert_eq!(
        info["capabilities"],
        serde_json::json!(["http:127.0.0.1", "http:localhost"])
    );
    assert_eq!(info["config"], "ops.toml");
}

#[test]
fn info_of_a_builtin_and_of_an_unknown_name() {
    let home = TestHome::new();
    let out = home.ops().args(["plugin", "info", "git"]).run();
    out.expect_success();
    assert!(
        out.stdout.contains("source:       builtin"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(built-in: what it declares)"),
        "{}",
        out.stdout
    );
    let out = home.ops().args(["plugin", "info", "rsycn"]).run();
    out.expect_code(2)
        .expect_stderr_contains("no installed plugin named `rsycn`")
        .expect_stderr_contains("did you mean `rsync`?");
}

#[test]
fn reinstalling_replaces_and_says_old_and_new_version() {
    let home = TestHome::new();
    let old = repo_root().join("tests/fixtures/plugins/rsync-api-0.1.0.wasm");
    home.ops()
        .args(["plugin", "install"])
        .arg(&old)
        .run()
        .expect_success();
    assert_eq!(
        store_record(&home, "rsync").unwrap()["api_version"],
        "0.1.0"
    );
    let new = repo_root().join("plugins/dist/rsync.wasm");
    let out = home
        .ops()
        .args(["--output", "json", "plugin", "install"])
        .arg(&new)
        .run();
    out.expect_success();
    let event = &json_lines(&out.stdout)[0];
    assert_eq!(event["event"], "plugin_installed");
    assert_eq!(event["previous_version"], "0.1.0");
    assert_eq!(event["api_version"], ops::plugin::API_VERSION);
    let record = store_record(&home, "rsync").unwrap();
    assert_eq!(record["api_version"], ops::plugin::API_VERSION);
    assert_eq!(record["sha256"], sha(&std::fs::read(&new).unwrap()));
    // Listed beside the built-in of the same name, told apart by SOURCE.
    let out = home
        .ops()
        .args(["--output", "json", "plugin", "list"])
        .run();
    let sources: Vec<String> = json_lines(&out.stdout)
        .iter()
        .filter(|r| r["name"] == "rsync")
        .map(|r| r["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources[0], "builtin");
    assert_eq!(
        sources[1],
        format!("store:{}", new.canonicalize().unwrap().display())
    );
}

#[test]
fn a_plugin_for_api_0_1_0_installs() {
    let home = TestHome::new();
    let old = repo_root().join("tests/fixtures/plugins/rsync-api-0.1.0.wasm");
    let out = home.ops().args(["plugin", "install"]).arg(&old).run();
    out.expect_success();
    assert!(
        out.stdout.contains("(sync-strategy, plugin API 0.1.0)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("local-exec:rsync"), "{}", out.stdout);
}

#[test]
fn a_sha256_mismatch_installs_nothing_and_names_both_digests() {
    let home = TestHome::new();
    let actual = sha(&std::fs::read(http_token()).unwrap());
    let wrong = "ab".repeat(32);
    let out = home
        .ops()
        .args(["plugin", "install", "--sha256", &wrong])
        .arg(http_token())
        .run();
    out.expect_code(2)
        .expect_stderr_contains(&actual)
        .expect_stderr_contains(&wrong)
        .expect_stderr_contains("nothing was installed");
    assert!(store_record(&home, "http-token").is_none());
    // The right digest, with its prefix, installs.
    home.ops()
        .args(["plugin", "install", "--sha256", &format!("sha256:{actual}")])
        .arg(http_token())
        .run()
        .expect_success();
}

#[test]
fn files_that_are_not_components_are_refused() {
    let home = TestHome::new();
    let module = home.path().join("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let out = home.ops().args(["plugin", "install"]).arg(&module).run();
    out.expect_code(2)
        .expect_stderr_contains("is not a WebAssembly component")
        .expect_stderr_contains("core WebAssembly module");
    let script = home.write("plugin.wasm", "#!/bin/sh\necho hi\n");
    let out = home.ops().args(["plugin", "install"]).arg(&script).run();
    out.expect_code(2)
        .expect_stderr_contains("does not start with the WebAssembly magic bytes");
    let out = home.ops().args(["plugin", "install", "nope.wasm"]).run();
    out.expect_code(2)
        .expect_stderr_contains("cannot read nope.wasm");
    assert!(!home.path().join(".local/share/ops/plugins").exists());
}

#[test]
fn an_incompatible_api_version_is_refused_naming_both() {
    let home = TestHome::new();
    // Instantiating it would trap: the version is read before that.
    let wat = r#"(component
        (import "ops:plugin/log@0.4.0" (instance))
        (core module $m (func $boom unreachable) (start $boom))
        (core instance (instantiate $m))
    )"#;
    let future = home.path().join("future.wasm");
    std::fs::write(&future, wat::parse_str(wat).unwrap()).unwrap();
    let out = home.ops().args(["plugin", "install"]).arg(&future).run();
    out.expect_code(8)
        .expect_stderr_contains("targets plugin API 0.4.0")
        .expect_stderr_contains("implements plugin API 0.3.0, 0.2.0, 0.1.0");
    assert!(!home.path().join(".local/share/ops/plugins").exists());
    // Nor is it pushed: the check comes before any registry is asked.
    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(&future)
        .arg("oci://127.0.0.1:1/x:1")
        .run();
    out.expect_code(8)
        .expect_stderr_contains("targets plugin API 0.4.0");
}

/// Serves `body` to every GET on 127.0.0.1 until the test process ends.
fn serve(body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/wasm\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    port
}

#[test]
fn installs_over_plain_http_from_loopback_only() {
    let home = TestHome::new();
    let wasm = std::fs::read(http_token()).unwrap();
    let url = format!("http://127.0.0.1:{}/http-token.wasm", serve(wasm.clone()));
    let out = home.ops().args(["plugin", "install", &url]).run();
    out.expect_success();
    let record = store_record(&home, "http-token").unwrap();
    assert_eq!(record["source"], url.as_str());
    assert_eq!(record["sha256"], sha(&wasm));

    let out = home
        .ops()
        .args(["plugin", "install", "http://example.com/http-token.wasm"])
        .run();
    out.expect_code(2)
        .expect_stderr_contains("plain http:// is allowed only to this machine")
        .expect_stderr_contains("`example.com`");
}

/// Writes `~/.docker/config.json` with inline credentials for `registry`.
fn docker_login(home: &TestHome, registry: &Registry, password: &str) {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", registry.username()));
    home.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host()
        ),
    );
}

#[test]
fn push_remove_and_install_from_the_registry_round_trips() {
    let registry = Registry::start();
    let home = TestHome::new();
    docker_login(&home, &registry, registry.token());
    let wasm = std::fs::read(http_token()).unwrap();
    let reference = format!("oci://{}/plugins/http-token:0.1.0", registry.host());

    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_success();
    let digest = out.stdout.trim().to_owned();
    assert!(digest.starts_with("sha256:"), "{}", out.stdout);
    out.expect_stderr_contains(&format!("pushed http-token 0.1.0 to {reference}"));

    // What the registry holds, read over its own API.
    let manifest = registry
        .manifest("plugins/http-token", "0.1.0")
        .expect("pushed");
    assert_eq!(manifest.digest, digest);
    assert_eq!(
        manifest.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    let m = &manifest.json;
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(layers[0]["digest"], format!("sha256:{}", sha(&wasm)));
    assert_eq!(
        m["annotations"]["org.opencontainers.image.title"],
        "http-token"
    );
    assert_eq!(
        m["annotations"]["org.opencontainers.image.version"],
        "0.1.0"
    );
    let config = registry.config("plugins/http-token", "0.1.0").unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"][0], format!("sha256:{}", sha(&wasm)));
    assert!(config["component"]["exports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("ops:plugin/plugin@")));
    assert_eq!(
        registry.blob("plugins/http-token", &format!("sha256:{}", sha(&wasm))),
        wasm
    );

    home.ops()
        .args(["plugin", "install"])
        .arg(http_token())
        .run()
        .expect_success();
    home.ops()
        .args(["plugin", "remove", "http-token"])
        .run()
        .expect_success();
    let out = home.ops().args(["plugin", "install", &reference]).run();
    out.expect_success();
    let record = store_record(&home, "http-token").unwrap();
    assert_eq!(record["sha256"], sha(&wasm));
    assert_eq!(record["source"], reference.as_str());

    // Pushing the same bytes again finds the blobs there and gives the
    // same digest (the manifest's `created` is to the second, so only
    // compare when it did not change).
    let out = home
        .ops()
        .args(["--output", "json", "plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_success();
    let pushed = &json_lines(&out.stdout)[0];
    assert_eq!(pushed["event"], "plugin_pushed");
    assert_eq!(pushed["name"], "http-token");
    assert_eq!(pushed["reference"], reference.as_str());
    let again = pushed["digest"].as_str().unwrap();
    assert_eq!(
        registry.digest("plugins/http-token", "0.1.0").unwrap(),
        again
    );
    let digest = again.to_owned();

    // Pinned by the manifest digest, with and without the tag.
    let pinned = format!("oci://{}/plugins/http-token@{digest}", registry.host());
    home.ops()
        .args(["plugin", "install", &pinned])
        .run()
        .expect_success();
    let wrong = format!(
        "oci://{}/plugins/http-token:0.1.0@sha256:{}",
        registry.host(),
        "0".repeat(64)
    );
    let out = home.ops().args(["plugin", "install", &wrong]).run();
    out.expect_code(2).expect_stderr_contains("not found");
}

#[test]
fn credentials_from_a_credential_helper() {
    let registry = Registry::start();
    let home = TestHome::new();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let asked = home.path().join("helper-asked");
    // The helper protocol: `get` as the only argument, the server on stdin,
    // JSON on stdout.
    let helper = bin.join("docker-credential-opstest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r server\nprintf '%s' \"$server\" > '{asked}'\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"\n",
            asked = asked.display(),
            user = registry.username(),
            secret = registry.token(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o700)).unwrap();
    home.write(
        ".docker/config.json",
        &format!(r#"{{"credHelpers": {{"{}": "opstest"}}}}"#, registry.host()),
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let reference = format!("oci://{}/team/http-token:0.1.0", registry.host());
    let out = home
        .ops()
        .env("PATH", &path)
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_success();
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), registry.host());
    assert!(!out.stderr.contains(registry.token()), "{}", out.stderr);
    let out = home
        .ops()
        .env("PATH", &path)
        .args(["plugin", "install", &reference])
        .run();
    out.expect_success();
    assert!(registry
        .tags("team/http-token")
        .contains(&"0.1.0".to_owned()));
}

#[test]
fn a_wrong_password_is_a_clear_error() {
    let registry = Registry::start();
    let home = TestHome::new();
    docker_login(&home, &registry, "not-the-password");
    let reference = format!("oci://{}/plugins/http-token:0.1.0", registry.host());
    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_code(7)
        .expect_stderr_contains(&format!(
            "registry {} refused the credentials of user `{}`",
            registry.host(),
            registry.username()
        ))
        .expect_stderr_contains(&format!("docker login {}", registry.host()));
    assert!(!out.stderr.contains("not-the-password"), "{}", out.stderr);
    assert!(registry.tags("plugins/http-token").is_empty());
}

#[test]
fn no_credentials_says_to_docker_login() {
    let registry = Registry::start();
    let home = TestHome::new();
    let reference = format!("oci://{}/plugins/http-token:0.1.0", registry.host());
    let out = home.ops().args(["plugin", "install", &reference]).run();
    out.expect_code(7).expect_stderr_contains(&format!(
        "registry {host} asks for credentials and {} has none for it; run `docker login {host}`",
        home.path().join(".docker/config.json").display(),
        host = registry.host()
    ));
}

#[test]
fn a_bad_reference_names_the_wrong_part() {
    let home = TestHome::new();
    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg("oci://127.0.0.1:5000/Team/x:1")
        .run();
    out.expect_code(2)
        .expect_stderr_contains("repository `Team/x`");
    let out = home
        .ops()
        .args(["plugin", "install", "oci://127.0.0.1:99999/x"])
        .run();
    out.expect_code(2).expect_stderr_contains("port `99999`");
}

/// A registry that wants `Bearer` tokens from its token service (both on
/// one loopback port), serving one wasm artifact; records what it was asked.
struct TokenRegistry {
    port: u16,
    asked: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl TokenRegistry {
    fn start(basic: String, manifest: Vec<u8>, wasm: Vec<u8>) -> TokenRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (path, auth) = read_request(&mut stream);
                log.lock().unwrap().push((path.clone(), auth.clone()));
                let challenge = format!(
                    "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"test-registry\"\r\n"
                );
                let (status, extra, body) = if path.starts_with("/token?") {
                    if auth == format!("Basic {basic}") {
                        ("200 OK", String::new(), br#"{"token":"tok-123"}"#.to_vec())
                    } else {
                        ("401 Unauthorized", String::new(), Vec::new())
                    }
                } else if auth != "Bearer tok-123" {
                    ("401 Unauthorized", challenge, Vec::new())
                } else if path.contains("/manifests/") {
                    let ct = "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n";
                    ("200 OK", ct.to_owned(), manifest.clone())
                } else {
                    ("200 OK", String::new(), wasm.clone())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        TokenRegistry { port, asked }
    }
}

/// The path and `Authorization` of one request.
fn read_request(stream: &mut std::net::TcpStream) -> (String, String) {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        request.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&request).into_owned();
    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
    let auth = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    (path, auth)
}

#[test]
fn bearer_challenges_get_a_token_from_the_realm_with_the_docker_credentials() {
    let wasm = std::fs::read(http_token()).unwrap();
    let config = b"{}";
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.wasm.config.v0+json",
                   "digest": format!("sha256:{}", sha(config)), "size": config.len()},
        "layers": [{"mediaType": "application/wasm",
                    "digest": format!("sha256:{}", sha(&wasm)), "size": wasm.len()}],
    });
    let basic = base64::engine::general_purpose::STANDARD.encode("robot:t0ken");
    let server = TokenRegistry::start(
        basic.clone(),
        serde_json::to_vec(&manifest).unwrap(),
        wasm.clone(),
    );
    let home = TestHome::new();
    let host = format!("127.0.0.1:{}", server.port);
    home.write(
        "docker/config.json",
        &format!(r#"{{"auths": {{"{host}": {{"auth": "{basic}"}}}}}}"#),
    );
    let out = home
        .ops()
        .env("DOCKER_CONFIG", home.path().join("docker"))
        .args([
            "plugin",
            "install",
            &format!("oci://{host}/acme/http-token:v1"),
        ])
        .run();
    out.expect_success();
    assert_eq!(
        store_record(&home, "http-token").unwrap()["sha256"],
        sha(&wasm)
    );
    let asked = server.asked.lock().unwrap().clone();
    let token = asked
        .iter()
        .find(|(path, _)| path.starts_with("/token?"))
        .expect("asked the token service");
    assert!(token.0.contains("service=test-registry"), "{token:?}");
    assert!(
        token
            .0
            .contains("scope=repository%3Aacme%2Fhttp-token%3Apull"),
        "{token:?}"
    );
    assert!(asked
        .iter()
        .any(|(path, auth)| path.contains("/blobs/sha256:") && auth == "Bearer tok-123"));
}
