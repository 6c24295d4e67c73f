//! Plugins in OCI registries: `ops plugin push` does not move a tag that
//! names other content without `--force`; a plugin installs by the digest
//! ops.lock shows; registry credentials go only to the origin they are
//! for.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::support::home::TestHome;
use crate::support::registry::Registry;

fn http_token() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/testing/http-token.wasm")
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn docker_login(home: &TestHome, registry: &Registry) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        registry.username(),
        registry.token()
    ));
    home.write(
        ".docker/config.json",
        &format!(
            r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#,
            registry.host()
        ),
    );
}

#[test]
fn push_does_not_move_a_tag_that_names_another_plugin_without_force() {
    let registry = Registry::start();
    let home = TestHome::new();
    docker_login(&home, &registry);
    let reference = format!("oci://{}/plugins/http-token:0.1.0", registry.host());
    let original = std::fs::read(http_token()).unwrap();
    let other = crate::plugin_pins::variant(&original, "rebuilt");
    let other_path = home.write("other.wasm", "");
    std::fs::write(&other_path, &other).unwrap();

    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_success();
    let first = out.stdout.trim().to_owned();

    // The same component again: the tag is left as it is.
    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(&reference)
        .run();
    out.expect_success();
    assert_eq!(out.stdout.trim(), first);

    // Other content under the same tag: refused, the tag unchanged.
    let out = home
        .ops()
        .args(["plugin", "push"])
        .arg(&other_path)
        .arg(&reference)
        .run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!(
        "{reference} already names a plugin whose component is sha256:{}",
        sha(&original)
    ));
    out.expect_stderr_contains(&format!("(manifest {first}); nothing was pushed"));
    out.expect_stderr_contains("--force");
    assert_eq!(
        registry.digest("plugins/http-token", "0.1.0").as_deref(),
        Some(first.as_str())
    );

    // --force moves it.
    let out = home
        .ops()
        .args(["plugin", "push", "--force"])
        .arg(&other_path)
        .arg(&reference)
        .run();
    out.expect_success();
    let moved = out.stdout.trim().to_owned();
    assert_ne!(moved, first);
    assert_eq!(
        registry.digest("plugins/http-token", "0.1.0").as_deref(),
        Some(moved.as_str())
    );
}

#[test]
fn a_plugin_installs_by_the_digest_ops_lock_shows() {
    let registry = Registry::start();
    let home = TestHome::new();
    docker_login(&home, &registry);
    let wasm = std::fs::read(http_token()).unwrap();
    let repo = format!("oci://{}/plugins/http-token", registry.host());
    home.ops()
        .args(["plugin", "push"])
        .arg(http_token())
        .arg(format!("{repo}:0.1.0"))
        .run()
        .expect_success();

    // ops.lock's `sha256` is the component's, which is the layer's digest.
    let pinned = format!("{repo}@sha256:{}", sha(&wasm));
    let out = home.ops().args(["plugin", "install", &pinned]).run();
    out.expect_success();
    out.expect_stdout_contains(&format!("sha256:       {}", sha(&wasm)));

    // A digest that is nothing there is "not found", not a server error.
    let missing = format!("{repo}@sha256:{}", "0".repeat(64));
    let out = home.ops().args(["plugin", "install", &missing]).run();
    out.expect_code(2).expect_stderr_contains("not found");
}

/// One HTTP/1.1 server on 127.0.0.1 answering every request with
/// `answer(path)`; records each request's path and `Authorization`.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Server {
    fn start(answer: impl Fn(&str, &str) -> String + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (path, auth) = read_request(&mut stream);
                log.lock().unwrap().push((path.clone(), auth.clone()));
                let _ = stream.write_all(answer(&path, &auth).as_bytes());
            }
        });
        Server { port, seen }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

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

fn answer(status: &str, headers: &str) -> String {
    format!("HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

/// No real registry redirects its token service to another origin, so
/// two small servers stand in: the registry (whose token service answers
/// 307 to the other port) and the other origin, which records what it is
/// sent.
#[test]
fn registry_credentials_do_not_follow_a_redirect_to_another_origin() {
    let elsewhere = Server::start(|_, _| answer("401 Unauthorized", ""));
    let other = elsewhere.port;
    // The realm is the registry itself, whose port is known once it runs.
    let own_port = Arc::new(std::sync::OnceLock::<u16>::new());
    let own = own_port.clone();
    let registry = Server::start(move |path, _| {
        if path.starts_with("/token") {
            let to = format!("Location: http://127.0.0.1:{other}{path}\r\n");
            return answer("307 Temporary Redirect", &to);
        }
        let port = own.get().copied().unwrap_or_default();
        answer(
            "401 Unauthorized",
            &format!(
                "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"test\"\r\n"
            ),
        )
    });
    own_port.set(registry.port).unwrap();
    let home = TestHome::new();
    let host = format!("127.0.0.1:{}", registry.port);
    let basic = base64::engine::general_purpose::STANDARD.encode("robot:s3cret-password");
    home.write(
        ".docker/config.json",
        &format!(r#"{{"auths": {{"{host}": {{"auth": "{basic}"}}}}}}"#),
    );
    let out = home
        .ops()
        .args(["plugin", "install", &format!("oci://{host}/acme/p:v1")])
        .run();
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    let leaked: Vec<_> = elsewhere
        .seen()
        .into_iter()
        .filter(|(_, auth)| !auth.is_empty())
        .collect();
    assert!(
        leaked.is_empty(),
        "credentials went to another origin (127.0.0.1:{other}): {leaked:?}"
    );
    assert!(
        !elsewhere.seen().is_empty(),
        "the redirect was not followed: {:?}",
        registry.seen()
    );
}
