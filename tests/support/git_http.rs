//! A real smart-HTTP git server on 127.0.0.1: a small HTTP/1.1 server that
//! demands `Authorization: Basic base64(x-access-token:TOKEN)` on every
//! request and hands the authorised ones to `git http-backend` as CGI, so
//! clones and fetches go through git's own server side. It records the
//! headers of every request and counts the ones it refused.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

use super::git::GitOrigin;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct GitHttpRequest {
    pub method: String,
    /// Path and query, as in the request line.
    pub target: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Whether it carried the expected `Authorization` header.
    pub authorized: bool,
}

impl GitHttpRequest {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<GitHttpRequest>>,
    rejected: AtomicUsize,
    /// `git http-backend` stderr and failures, for assertion messages.
    log: Mutex<String>,
}

/// Serves the directory holding a `GitOrigin`'s bare repositories
/// (`hello.git`, and `greeting.git` that its submodule's relative URL
/// names) until dropped.
pub struct GitHttpServer {
    port: u16,
    authorization: String,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GitHttpServer {
    /// Serves `origin` to clients that present `token`.
    pub fn serve(origin: &GitOrigin, token: &str) -> GitHttpServer {
        let root = origin
            .path()
            .parent()
            .expect("the bare repository sits in the origin's directory")
            .to_path_buf();
        Self::serve_dir(root, token)
    }

    /// Serves every repository under `root` (`GIT_PROJECT_ROOT`).
    pub fn serve_dir(root: PathBuf, token: &str) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind git http server");
        let port = listener.local_addr().expect("local addr").port();
        let authorization = basic_authorization(token);
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop, expected) = (state.clone(), stop.clone(), authorization.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, expected, root) = (state.clone(), expected.clone(), root.clone());
                    std::thread::spawn(move || {
                        if let Err(e) = serve(stream, &root, &expected, &state) {
                            state
                                .log
                                .lock()
                                .unwrap()
                                .push_str(&format!("connection: {e}\n"));
                        }
                    });
                }
            })
        };
        GitHttpServer {
            port,
            authorization,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/NAME`, e.g. `url("hello.git")`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The `Authorization` value the server accepts.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// Every request so far, refused ones included.
    pub fn requests(&self) -> Vec<GitHttpRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests were answered 401.
    pub fn rejected(&self) -> usize {
        self.state.rejected.load(Ordering::SeqCst)
    }

    /// What `git http-backend` wrote on stderr, and connection errors.
    pub fn log(&self) -> String {
        self.state.log.lock().unwrap().clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `Basic base64(x-access-token:TOKEN)`, the header git sends for a token.
pub fn basic_authorization(token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"))
    )
}

/// One request per connection: every answer says `Connection: close`.
fn serve(stream: TcpStream, root: &Path, expected: &str, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(()); // The wake-up connection from drop.
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let request = GitHttpRequest {
        authorized: headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == expected),
        method,
        target,
        headers,
    };
    state.requests.lock().unwrap().push(request.clone());

    if !request.authorized {
        state.rejected.fetch_add(1, Ordering::SeqCst);
        let body = "authentication required\n";
        return write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"ops-test\"\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }

    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = read_body(&mut reader, &request)?;
    let (status, cgi_headers, payload) = run_backend(root, &request, body, state)?;
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in cgi_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    ));
    out.write_all(head.as_bytes())?;
    out.write_all(&payload)?;
    out.flush()
}

/// The request body, from `Content-Length` or chunked transfer encoding
/// (git streams large requests in chunks). Still gzip-encoded if it was.
fn read_body(reader: &mut impl BufRead, request: &GitHttpRequest) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let hex = size.trim().split(';').next().unwrap_or_default();
            let len = usize::from_str_radix(hex, 16).map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk size: {e}"))
            })?;
            let mut chunk = vec![0; len + 2]; // The chunk and its CRLF.
            reader.read_exact(&mut chunk)?;
            if len == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..len]);
        }
    } else if let Some(len) = request.header("content-length") {
        let len: usize = len.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("content-length: {e}"),
            )
        })?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

type CgiResponse = (String, Vec<(String, String)>, Vec<u8>);

/// Runs `git http-backend` for one request: CGI variables in, the body on
/// stdin, its `Status:` and other headers parsed from stdout.
fn run_backend(
    root: &Path,
    request: &GitHttpRequest,
    body: Vec<u8>,
    state: &State,
) -> std::io::Result<CgiResponse> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(value) = request.header(header) {
            cmd.env(var, value);
        }
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from its own thread: the backend may answer before it has
    // read everything.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    if !output.stderr.is_empty() || !output.status.success() {
        state.log.lock().unwrap().push_str(&format!(
            "{} {}: {}: {}\n",
            request.method,
            request.target,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(parse_cgi(&output.stdout))
}

/// Splits CGI output into status, headers and body.
fn parse_cgi(stdout: &[u8]) -> CgiResponse {
    let (head_len, sep_len) = find(stdout, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(stdout, b"\n\n").map(|i| (i, 2)))
        .unwrap_or((stdout.len(), 0));
    let head = String::from_utf8_lossy(&stdout[..head_len]);
    let mut status = "200 OK".to_owned();
    let mut headers = Vec::new();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("status") {
                status = value.to_owned();
            } else if !name.eq_ignore_ascii_case("content-length") {
                // The server sets its own length for the whole body.
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    let body = stdout[(head_len + sep_len).min(stdout.len())..].to_vec();
    (status, headers, body)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
