//! What went wrong when a step fails on the node (the registry steps, an
//! image build, the sync), and whether trying again can help.
//!
//! A registry that restarts or a connection reset should not fail a build
//! that took minutes; a refused password or a builder whose daemon is down
//! will fail every attempt the same way, so those fail at once, with a
//! message that says which it was. The plugin says which kind of failure it
//! had (plugin API 0.3.0's typed errors, [`Fault`]): retries, exit codes
//! and messages follow that alone, whoever the builder is. No tool's or
//! registry's own words are read here.

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;

use crate::exit::{Exit, ExitStatusOf, Failure};
use crate::output::Printer;
use crate::plugin::{Fault, PluginError};

/// Attempts per login and per push: at most 1 s + 2 s of waiting.
pub(super) const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

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
            Err(e) => e.fault() == Some(&Fault::Transient),
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

/// The run's failure for a registry step's error: the node's own faults
/// (lost, its builder's tool missing) first, everything else the step's
/// own exit code.
pub(super) fn failure(err: PluginError, attempts: u32) -> Failure {
    if let Some(node) = node_failure(&err) {
        return node;
    }
    if attempts > 1 {
        return Failure::new(err.exit(), anyhow!("{err} (tried {attempts} times)"));
    }
    Failure::from(err)
}

/// A failure that is the node's rather than one image's: the connection
/// lost (exit 3), what the builder needs missing there (exit 6, as no
/// image can be built), or its disk full where the plugin says, said once
/// for the whole step.
pub(super) fn node_failure(err: &PluginError) -> Option<Failure> {
    match err.fault()? {
        Fault::NodeLost => Some(Failure::new(Exit::Connection, anyhow!("{err}"))),
        Fault::ToolMissing { remedy } => Some(Failure::new(
            err.exit(),
            anyhow!("{err} ({remedy}); nothing was pushed"),
        )),
        Fault::NoSpace { location } if !location.is_empty() => Some(Failure::new(
            err.exit(),
            anyhow!(
                "no space left on the build node's disk for {location}: `ops node df` shows what \
                 takes it and `ops node prune` removes this project's old images and build \
                 cache (`[node] keep` and `cache` do it after every push): {err}"
            ),
        )),
        _ => None,
    }
}

/// The images step's failure: the first node fault among the images, else
/// each failed image's line.
pub(super) fn build_failure(node: Option<Failure>, failures: &[String]) -> Option<Failure> {
    if node.is_some() {
        return node;
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
    if let Some(node) = node_failure(error) {
        return Err(node);
    }
    Ok(match (attempts, error.fault()) {
        (_, Some(Fault::Refused)) => " (the registry accepted the login but refused this push: \
                                      check that the account may push to this repository)"
            .to_owned(),
        (1, _) => String::new(),
        (n, _) => format!(" (tried {n} times)"),
    })
}

/// The sync's failure: a full disk says so (and where), since the
/// message of the tool that hit it (rsync, git) is easy to miss.
pub(super) fn sync_failure(err: PluginError, path: &str) -> Failure {
    if let Some(Fault::NoSpace { location }) = err.fault() {
        let location = if location.is_empty() { path } else { location };
        return Failure::new(
            err.exit(),
            anyhow!(
                "no space left on the build node's disk for {location}: `ops node df` shows what \
                 takes it and `ops node prune` frees this project's old images and build cache; \
                 or point build.path at a larger disk: {err}"
            ),
        );
    }
    node_failure(&err).unwrap_or_else(|| Failure::from(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Operation;

    fn failed(operation: Operation, fault: Fault) -> PluginError {
        PluginError::Failed {
            plugin: "b".into(),
            operation,
            fault,
            message: "m".into(),
        }
    }

    #[test]
    fn exit_codes_follow_the_fault_not_the_words() {
        let missing = || Fault::ToolMissing {
            remedy: "start it".into(),
        };
        for (operation, fault, exit) in [
            (Operation::Push, Fault::NodeLost, Exit::Connection),
            (Operation::Sync, Fault::NodeLost, Exit::Connection),
            (Operation::Login, missing(), Exit::ImageBuild),
            (Operation::Push, missing(), Exit::ImageBuild),
            (Operation::Sync, missing(), Exit::Sync),
            (Operation::Push, Fault::Refused, Exit::Push),
            (Operation::Push, Fault::Transient, Exit::Push),
            (Operation::Build, Fault::Failed, Exit::ImageBuild),
        ] {
            let err = failed(operation, fault.clone());
            assert_eq!(failure(err, 1).exit, exit, "{operation:?} {fault:?}");
        }
        let full = failed(
            Operation::Sync,
            Fault::NoSpace {
                location: "/b".into(),
            },
        );
        let text = sync_failure(full, "/x").error.to_string();
        assert!(
            text.starts_with("no space left on the build node's disk for /b:"),
            "{text}"
        );
        let build = failed(
            Operation::Build,
            Fault::NoSpace {
                location: "the builder's storage".into(),
            },
        );
        let build = node_failure(&build).expect("a full disk is the node's");
        assert_eq!(build.exit, Exit::ImageBuild);
        let build = build.error.to_string();
        assert!(
            build.starts_with("no space left on the build node's disk for the builder's storage:")
        );
        assert!(
            build.contains("`ops node prune`") && build.contains("`ops node df`"),
            "{build}"
        );
        assert!(text.contains("`ops node prune`"), "{text}");
        let refused = failed(Operation::Push, Fault::Refused);
        assert!(push_failure_note(&refused, 1)
            .unwrap()
            .contains("refused this push"));
    }
}
