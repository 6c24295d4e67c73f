//! A tiny HTTP/1.1 server on 127.0.0.1 serving fixed JSON answers, for the
//! control-plane API lookups. Records each request's path and
//! `Authorization` header.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

pub struct HttpServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
pub struct HttpServerBuilder {
    routes: HashMap<String, (u16, String)>,
    faults: HashMap<String, Fault>,
}

/// What a path answers before (or instead of) its route.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The first `times` requests get `status`.
    Status { status: u16, times: usize },
    /// Every request is read and never answered.
    Hang,
}

impl HttpServerBuilder {
    /// Answers `GET path` with `status` and a JSON `body`.
    pub fn route(mut self, path: &str, status: u16, body: &str) -> Self {
        self.routes
            .insert(path.to_owned(), (status, body.to_owned()));
        self
    }

    /// The first `times` requests for `path` get `status` and an error body.
    pub fn fail_first(mut self, path: &str, times: usize, status: u16) -> Self {
        self.faults
            .insert(path.to_owned(), Fault::Status { status, times });
        self
    }

    /// Requests for `path` are read, then left unanswered (for a minute).
    pub fn hang(mut self, path: &str) -> Self {
        self.faults.insert(path.to_owned(), Fault::Hang);
        self
    }

    pub fn start(self) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reqs, halt, routes) = (requests.clone(), stop.clone(), self.routes);
        let mut faults = self.faults;
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &routes, &mut faults, &reqs);
                }
            }
        });
        HttpServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(
    stream: TcpStream,
    routes: &HashMap<String, (u16, String)>,
    faults: &mut HashMap<String, Fault>,
    log: &Mutex<Vec<Request>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_owned());
            }
        }
    }
    log.lock().unwrap().push(Request {
        method,
        path: path.clone(),
        authorization,
    });
    let fault = faults.get_mut(&path);
    let (status, body) = match fault {
        Some(Fault::Hang) => {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(60));
                drop(stream);
            });
            return;
        }
        Some(Fault::Status { status, times }) if *times > 0 => {
            *times -= 1;
            (*status, r#"{"error":"injected"}"#.to_owned())
        }
        _ => routes
            .get(&path)
            .cloned()
            .unwrap_or((404, r#"{"error":"not found"}"#.to_owned())),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl HttpServer {
    pub fn builder() -> HttpServerBuilder {
        HttpServerBuilder::default()
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
