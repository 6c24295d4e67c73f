//! The `http` capability, through the `http-token` test plugin (written
//! with the SDK against API 0.3.0): the host makes the request only to a
//! host that is declared and granted, follows no redirect, and the plugin
//! turns the answer into registry credentials. The token endpoint is a
//! small HTTP server on 127.0.0.1 in this test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ops::config::{DeclSource, Location, PluginDecl, PluginSection, SectionEntry, SectionValue};
use ops::distribution::Registry;
use ops::plugin::{Limits, PluginError};

use crate::recorder::{Recorder, Reply};
use crate::support::{context, repo_root, runtime};

fn here() -> Location {
    Location {
        file: PathBuf::from("ops.toml"),
        line: 7,
        column: 1,
    }
}

/// Answers every connection with `response`; returns its URL and the
/// requests it saw.
fn token_server(response: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request).into_owned());
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

fn section(url: &str) -> PluginSection {
    let entry = |key: &str, value: SectionValue| SectionEntry {
        key: key.into(),
        value,
        location: here(),
    };
    PluginSection {
        path: "build.image".into(),
        entries: vec![
            entry("token_url", SectionValue::Text(url.into())),
            entry("client_token", SectionValue::Secret("client-secret".into())),
        ],
        location: here(),
    }
}

fn decl(grants: &[&str]) -> PluginDecl {
    PluginDecl {
        name: "http-token".into(),
        source: DeclSource::Path(repo_root().join("plugins/dist/testing/http-token.wasm")),
        source_text: "plugins/dist/testing/http-token.wasm".into(),
        source_location: here(),
        grants: grants.iter().map(|g| (g.to_string(), here())).collect(),
        sha256: None,
        signed_by: None,
        version: None,
        location: here(),
    }
}

async fn credentials(
    grants: &[&str],
    section: &PluginSection,
) -> Result<ops::plugin::Credentials, PluginError> {
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::new(&rt, &[decl(grants)]).unwrap();
    let auth = registry.registry_auth("http-token").await.unwrap();
    assert_eq!(auth_api(&registry).await, "0.3.0");
    let node = Arc::new(Recorder::new(|_| Reply::stdout("")));
    auth.credentials(&context(&node), section, "registry.example:5000")
        .await
}

async fn auth_api(registry: &Registry) -> String {
    let plugin = registry.get("http-token").await.unwrap();
    plugin.metadata().api_version.to_string()
}

/// `http:127.0.0.1:PORT` for the server at `url`.
fn grant_for(url: &str) -> String {
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    format!("http:127.0.0.1:{port}")
}

const TOKEN: &str =
    "HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\nshort-lived-token\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_host_is_fetched_by_the_host_for_the_plugin() {
    let (url, seen) = token_server(TOKEN);
    let c = credentials(&[grant_for(&url).as_str()], &section(&url))
        .await
        .unwrap();
    assert_eq!(c.registry, "registry.example:5000");
    assert_eq!(c.username, "token");
    assert_eq!(c.secret, "short-lived-token");
    let requests = seen.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].starts_with("GET /token HTTP/1.1\r\n"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer client-secret"),
        "{}",
        requests[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungranted_host_is_refused_naming_the_grant_and_nothing_is_sent() {
    let (url, seen) = token_server(TOKEN);
    let err = credentials(&[], &section(&url)).await.unwrap_err();
    let text = err.to_string();
    let grant = grant_for(&url);
    assert!(
        text.contains(&format!(
            "capability {grant} refused: not granted to plugin http-token"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("grant = [\"{grant}\"] under [plugins.http-token]")),
        "{text}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "a refused request must not be sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_handed_back_not_followed() {
    let (url, seen) = token_server(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:1/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let err = credentials(&[grant_for(&url).as_str()], &section(&url))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("answered HTTP 302"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_config_errors_name_the_key() {
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::new(&rt, &[decl(&[])]).unwrap();
    let auth = registry.registry_auth("http-token").await.unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::stdout("")));
    let mut bad = section("http://127.0.0.1:1/");
    bad.entries[0].value = SectionValue::Integer(3);
    let err = auth.validate(&context(&node), &bad).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("build.image.token_url"), "{text}");
    assert!(text.contains("ops.toml:7:1"), "{text}");
    assert!(text.contains("expected a string"), "{text}");
}

/// Finding: a grant of a host covered every port of it. `http:HOST` is the
/// scheme's default port (80 for plain http to loopback), and another port
/// must be named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_grant_covers_the_port_it_names_only() {
    let (url, seen) = token_server(TOKEN);
    let grant = grant_for(&url);
    let err = credentials(&["http:127.0.0.1"], &section(&url))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "capability {grant} refused: not granted to plugin http-token; to allow it add \
             grant = [\"{grant}\"]"
        )),
        "{text}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "a request to an ungranted port must not be sent"
    );
    let c = credentials(&[grant.as_str()], &section(&url))
        .await
        .unwrap();
    assert_eq!(c.secret, "short-lived-token");
    assert_eq!(seen.lock().unwrap().len(), 1);
}
