//! WASI 0.2, restricted, for components built with a plain
//! `cargo build --target wasm32-wasip2`: Rust's standard library on that
//! target imports `wasi:cli`, `wasi:io`, `wasi:clocks`, `wasi:random`,
//! `wasi:filesystem` and `wasi:sockets` whether or not the plugin uses
//! them, so a host that links none of them cannot even instantiate it.
//!
//! What a plugin gets through WASI is nothing it could use to get around
//! its capabilities: no preopened directories (so no file at all), no
//! sockets and no name lookups, no environment variables, no arguments, an
//! empty stdin. Clocks and random numbers are the host's. stdout and stderr
//! go to the plugin's log under its name, line by line, within the same
//! per-call budget as its `log` calls.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::output::{Event, LogLevel, Printer};
use crate::plugin::state::{PluginState, LOG_BUDGET};

/// One line of stdout/stderr longer than this is shown in pieces.
const MAX_LINE: usize = 16 * 1024;

/// The WASI state of one call.
pub(crate) struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    stdio: Arc<Mutex<StdioLog>>,
}

impl WasiState {
    pub(crate) fn new(plugin: Arc<str>, printer: Arc<Printer>) -> WasiState {
        let stdio = Arc::new(Mutex::new(StdioLog {
            plugin,
            printer,
            shown: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }));
        let ctx = WasiCtx::builder()
            // Spelled out although most are the defaults: this list is the
            // sandbox, and a default that changes must not widen it.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .stdout(StdioPipe {
                log: stdio.clone(),
                stream: Stream::Stdout,
            })
            .stderr(StdioPipe {
                log: stdio.clone(),
                stream: Stream::Stderr,
            })
            .build();
        WasiState {
            ctx,
            table: ResourceTable::new(),
            stdio,
        }
    }
}

impl Drop for WasiState {
    /// The store, and with it this state, is dropped when the call ends:
    /// what is left of a last line without a newline is shown then.
    fn drop(&mut self) {
        let mut log = self.stdio.lock().unwrap_or_else(PoisonError::into_inner);
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(log.buffer(stream));
            if !rest.is_empty() {
                log.show(stream, &rest);
            }
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi.ctx,
            table: &mut self.wasi.table,
        }
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Lines of stdout and stderr on their way into the plugin's log.
struct StdioLog {
    plugin: Arc<str>,
    printer: Arc<Printer>,
    /// Bytes shown in this call, against [`LOG_BUDGET`].
    shown: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl StdioLog {
    fn buffer(&mut self, stream: Stream) -> &mut Vec<u8> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn write(&mut self, stream: Stream, bytes: &[u8]) {
        let redactor = self.printer.redactor().clone();
        let buffer = self.buffer(stream);
        buffer.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            lines.push(line);
        }
        if buffer.len() > MAX_LINE {
            // Shown in pieces: masked first, keeping back what may be the
            // start of a secret the next write completes.
            let (piece, rest) = redactor.redact_prefix(&String::from_utf8_lossy(buffer));
            *buffer = rest.into_bytes();
            lines.push(piece.into_bytes());
        }
        for line in lines {
            self.show(stream, &line);
        }
    }

    fn show(&mut self, stream: Stream, line: &[u8]) {
        if self.shown > LOG_BUDGET {
            return;
        }
        self.shown += line.len();
        let (level, message) = if self.shown > LOG_BUDGET {
            (
                LogLevel::Warn,
                format!(
                    "wrote more than {} MiB to stdout and stderr in one call; the rest is left out",
                    LOG_BUDGET >> 20
                ),
            )
        } else {
            let level = match stream {
                Stream::Stdout => LogLevel::Info,
                Stream::Stderr => LogLevel::Warn,
            };
            let text = String::from_utf8_lossy(line);
            (level, text.trim_end_matches(['\n', '\r']).to_owned())
        };
        self.printer.emit(&Event::PluginLog {
            plugin: self.plugin.to_string(),
            level,
            message,
        });
    }
}

/// The guest's stdout or stderr.
struct StdioPipe {
    log: Arc<Mutex<StdioLog>>,
    stream: Stream,
}

impl IsTerminal for StdioPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StdioPipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(StdioWriter {
            log: self.log.clone(),
            stream: self.stream,
        })
    }
}

struct StdioWriter {
    log: Arc<Mutex<StdioLog>>,
    stream: Stream,
}

impl AsyncWrite for StdioWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(self.stream, bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
