//! An HTTP proxy on 127.0.0.1 in front of a real server (the test
//! registry) that answers chosen requests itself, with a chosen status, a
//! chosen number of times, and passes every other request through. No
//! real registry fails on demand; this is the one stand-in, and it stands
//! in only for the failing answers.
//!
//! Each request gets a connection of its own (`Connection: close` towards
//! the server), so every request's head passes the rules, not only the
//! first one of a kept-alive connection.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Rule {
    pub method: &'static str,
    /// A substring of the request path.
    pub path: &'static str,
    pub status: u16,
    /// How many matching requests get `status` (then they pass).
    pub times: usize,
}

pub struct FaultProxy {
    port: u16,
    /// `METHOD PATH -> STATUS` of every request answered by a rule.
    answered: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fault proxy");
        let port = listener.local_addr().unwrap().port();
        let rules = Arc::new(Mutex::new(rules));
        let answered = Arc::new(Mutex::new(Vec::new()));
        let (r, a) = (rules, answered.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (r, a) = (r.clone(), a.clone());
                std::thread::spawn(move || handle(client, upstream_port, &r, &a));
            }
        });
        FaultProxy { port, answered }
    }

    /// `127.0.0.1:PORT`, to use as the registry's name.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn answered(&self) -> Vec<String> {
        self.answered.lock().unwrap().clone()
    }
}

fn handle(
    mut client: TcpStream,
    upstream_port: u16,
    rules: &Mutex<Vec<Rule>>,
    answered: &Mutex<Vec<String>>,
) {
    let Some((head, rest)) = read_head(&mut client) else {
        return;
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut first = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    let fault = {
        let mut rules = rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| r.times > 0 && r.method == method && path.contains(r.path))
            .map(|r| {
                r.times -= 1;
                r.status
            })
    };
    if let Some(status) = fault {
        // The whole request is read first: answering over a body still on
        // its way makes the client see a reset, not the status.
        let length = text
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut remaining = length.saturating_sub(rest.len());
        let mut sink = [0u8; 4096];
        let _ = client.set_read_timeout(Some(std::time::Duration::from_secs(5)));
        while remaining > 0 {
            match client.read(&mut sink[..remaining.min(4096)]) {
                Ok(0) | Err(_) => break,
                Ok(n) => remaining -= n,
            }
        }
        answered
            .lock()
            .unwrap()
            .push(format!("{method} {path} -> {status}"));
        let body = match status {
            401 => r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            _ => r#"{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}"#,
        };
        let challenge = if status == 401 {
            "WWW-Authenticate: Basic realm=\"Registry Realm\"\r\n"
        } else {
            ""
        };
        let _ = write!(
            client,
            "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n{challenge}\
             Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
        return;
    };
    let head = close_after_this(&text);
    if upstream.write_all(head.as_bytes()).is_err() || upstream.write_all(&rest).is_err() {
        return;
    }
    let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// The request head (through the blank line) and whatever body bytes came
/// with it.
fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((buf, rest));
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The head with `Connection: close`, so that the server ends the
/// connection after its answer and the client opens a new one.
fn close_after_this(head: &str) -> String {
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}
