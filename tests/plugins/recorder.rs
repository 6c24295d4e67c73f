//! A recording build node: no real node is involved at this layer. It
//! records every request and answers exec with a scripted reply, so that
//! tests can check exactly what a plugin asked for.

use std::sync::Mutex;
use std::time::Duration;

use ops::remote::{
    BoxFuture, OutputSink, RemoteCommand, RemoteError, RemoteExit, RemoteNode, Stdin,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Exec(RemoteCommand),
    Write {
        path: String,
        contents: Vec<u8>,
        mode: u32,
    },
    Scratch(String),
}

#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::default()
    }

    pub fn code(code: i32) -> Reply {
        Reply {
            code,
            ..Reply::default()
        }
    }

    pub fn stdout(text: &str) -> Reply {
        Reply {
            stdout: text.as_bytes().to_vec(),
            ..Reply::default()
        }
    }
}

type Script = Box<dyn Fn(&RemoteCommand) -> Reply + Send + Sync>;

pub struct Recorder {
    calls: Mutex<Vec<Call>>,
    script: Script,
}

impl Recorder {
    pub fn new(script: impl Fn(&RemoteCommand) -> Reply + Send + Sync + 'static) -> Recorder {
        Recorder {
            calls: Mutex::new(Vec::new()),
            script: Box::new(script),
        }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn commands(&self) -> Vec<RemoteCommand> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Exec(cmd) => Some(cmd),
                _ => None,
            })
            .collect()
    }

    /// Each command as `program arg arg ...`.
    pub fn argv(&self) -> Vec<String> {
        self.commands()
            .iter()
            .map(|c| {
                std::iter::once(c.program.as_str())
                    .chain(c.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

pub const SCRATCH: &str = "/run/ops-scratch";

impl RemoteNode for Recorder {
    fn label(&self) -> &str {
        "recorder"
    }

    fn run<'a>(
        &'a self,
        command: &'a RemoteCommand,
        _stdin: Stdin<'a>,
        output: &'a mut dyn OutputSink,
    ) -> BoxFuture<'a, Result<RemoteExit, RemoteError>> {
        Box::pin(async move {
            let reply = (self.script)(command);
            self.calls.lock().unwrap().push(Call::Exec(command.clone()));
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            output.stdout(&reply.stdout);
            output.stderr(&reply.stderr);
            Ok(RemoteExit::Code(reply.code))
        })
    }

    fn write_file<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(Call::Write {
                path: path.to_owned(),
                contents: contents.to_vec(),
                mode,
            });
            Ok(())
        })
    }

    fn scratch_dir<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap()
                .push(Call::Scratch(name.to_owned()));
            Ok(format!("{SCRATCH}/{name}"))
        })
    }

    // A recorder runs no shell and holds no lock: no gate to wait on, and
    // its commands end with their futures.
    fn set_gate(&self, _marker: Option<String>) {}

    fn settle(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn connect_round_trips(&self) -> u64 {
        0
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
