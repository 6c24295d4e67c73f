//! What went wrong when a step fails on the node (the registry steps, an
//! image build, the sync), and whether trying again can help.
//!
//! A registry that restarts, a proxy answering 502 or a connection reset
//! should not fail a build that took minutes; a refused password or a
//! stopped Docker daemon will fail every attempt the same way, so those
//! fail at once, with a message that says which it was. The builder
//! plugin reports failures as text (the last lines of docker's stderr), so
//! the cases are told apart by the messages Docker and registries print.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;

use crate::exit::{Exit, Failure};
use crate::output::Printer;
use crate::plugin::PluginError;
use crate::remote::DISCONNECTED;

/// Attempts per login and per push: at most 1 s + 2 s of waiting.
pub(super) const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Said when the node's docker cannot reach its daemon, whatever the step.
pub(super) const DAEMON_DOWN: &str = "the Docker daemon is not running on the node";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// docker on the node cannot reach dockerd.
    DaemonDown,
    /// The registry refused the credentials or the access (401, 403).
    Refused,
    /// Worth another attempt: 5xx, 429, refused or reset connections,
    /// timeouts.
    Transient,
    Other,
}

pub(super) fn classify(message: &str) -> Fault {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&[
        "cannot connect to the docker daemon",
        "is the docker daemon running",
    ]) {
        Fault::DaemonDown
    } else if any(&[
        "unauthorized",
        "authentication required",
        "denied",
        "401 unauthorized",
        "403 forbidden",
        "incorrect username or password",
    ]) {
        Fault::Refused
    } else if any(&[
        "500 internal server error",
        "502 bad gateway",
        "503 service unavailable",
        "504 gateway timeout",
        "429 too many requests",
        "http status: 5",
        "connection refused",
        "connection reset",
        "i/o timeout",
        "tls handshake timeout",
        "unexpected eof",
        "broken pipe",
    ]) {
        Fault::Transient
    } else {
        Fault::Other
    }
}

fn message_of(err: &PluginError) -> Option<&str> {
    match err {
        PluginError::Failed { message, .. } => Some(message),
        _ => None,
    }
}

/// Runs `call` up to [`ATTEMPTS`] times while it fails transiently, with a
/// note before each new attempt; returns the last result and the attempts.
pub(super) async fn with_retries<T, F, Fut>(
    what: &str,
    printer: &Printer,
    mut call: F,
) -> (Result<T, PluginError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PluginError>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let result = call().await;
        let transient = match &result {
            Err(e) => message_of(e).map(classify) == Some(Fault::Transient),
            Ok(_) => false,
        };
        if !transient || attempt >= ATTEMPTS {
            return (result, attempt);
        }
        printer.warn(format!(
            "{what} failed, the registry may be restarting; trying again in {}s (attempt {} of \
             {ATTEMPTS})",
            backoff.as_secs(),
            attempt + 1
        ));
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// The run's failure for a registry step's error: a stopped daemon is the
/// node's fault (exit 6, as for an image build), everything else the
/// registry step's own exit code.
pub(super) fn failure(err: PluginError, attempts: u32) -> Failure {
    if let Some(lost) = lost_connection(&err.to_string()) {
        return lost;
    }
    match message_of(&err).map(classify) {
        Some(Fault::DaemonDown) => daemon_down(&err.to_string()),
        _ if attempts > 1 => Failure::new(Exit::Push, anyhow!("{err} (tried {attempts} times)")),
        _ => Failure::from(err),
    }
}

/// The images step's failure, from each failed image's line: a lost
/// connection or a stopped daemon is the node's fault, said once.
pub(super) fn build_failure(failures: &[String]) -> Option<Failure> {
    if let Some(lost) = failures.iter().find_map(|f| lost_connection(f)) {
        return Some(lost);
    }
    if let Some(down) = failures.iter().find(|f| classify(f) == Fault::DaemonDown) {
        return Some(daemon_down(down));
    }
    (!failures.is_empty()).then(|| {
        Failure::new(
            Exit::ImageBuild,
            anyhow!(
                "image build failed, so nothing was pushed:\n  {}",
                failures.join("\n  ")
            ),
        )
    })
}

/// What to add to a failed push's line, or the run's failure when the node
/// itself is at fault.
pub(super) fn push_failure_note(error: &PluginError, attempts: u32) -> Result<String, Failure> {
    let text = error.to_string();
    if let Some(lost) = lost_connection(&text) {
        return Err(lost);
    }
    Ok(match (attempts, classify(&text)) {
        (_, Fault::DaemonDown) => return Err(daemon_down(&text)),
        (_, Fault::Refused) => " (the registry accepted the login but refused this push: check \
                                that the account may push to this repository)"
            .to_owned(),
        (1, _) => String::new(),
        (n, _) => format!(" (tried {n} times)"),
    })
}

/// The sync's failure: a full disk says so (and where), since the
/// message of the tool that hit it (rsync, git) is easy to miss.
pub(super) fn sync_failure(err: PluginError, path: &str) -> Failure {
    if let Some(lost) = lost_connection(&err.to_string()) {
        return lost;
    }
    let full = message_of(&err)
        .is_some_and(|m| m.to_ascii_lowercase().contains("no space left on device"));
    if full {
        return Failure::new(
            Exit::Sync,
            anyhow!(
                "no space left on the build node's disk for {path}: free some space there (old \
                 images: `docker system prune`) or point build.path at a larger disk: {err}"
            ),
        );
    }
    Failure::from(err)
}

/// A plugin's failure that was the node going away: exit 3, as when the
/// connection drops under any other step.
pub(super) fn lost_connection(message: &str) -> Option<Failure> {
    message
        .contains(DISCONNECTED)
        .then(|| Failure::new(Exit::Connection, anyhow!("{message}")))
}

pub(super) fn daemon_down(detail: &str) -> Failure {
    Failure::new(
        Exit::ImageBuild,
        anyhow!(
            "{DAEMON_DOWN} (start it there, e.g. `systemctl start docker`); nothing was pushed: \
             {detail}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_messages_are_told_apart() {
        for (message, fault) in [
            (
                "docker login to r failed (exit code 1): Cannot connect to the Docker daemon at \
                 unix:///var/run/docker.sock. Is the docker daemon running?",
                Fault::DaemonDown,
            ),
            (
                "docker push of r/a:t failed (exit code 1): unauthorized: authentication required",
                Fault::Refused,
            ),
            (
                "Error response from daemon: login attempt to http://r/v2/ failed with status: \
                 401 Unauthorized",
                Fault::Refused,
            ),
            (
                "received unexpected HTTP status: 500 Internal Server Error",
                Fault::Transient,
            ),
            (
                "Get \"http://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection refused",
                Fault::Transient,
            ),
            ("manifest invalid: manifest invalid", Fault::Other),
        ] {
            assert_eq!(classify(message), fault, "{message}");
        }
    }
}
