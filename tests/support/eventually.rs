//! Waiting for something another process does: one poll loop with a
//! deadline, so that a test which waits says what it waited for when the
//! wait fails, and no test sleeps a fixed time and hopes.

use std::time::{Duration, Instant};

/// How often a condition is looked at again. Short enough that a wait ends
/// soon after the condition holds; the deadline, not this, bounds a test.
const POLL: Duration = Duration::from_millis(20);

/// Calls `probe` until it returns `Some`, and returns that value; panics
/// with "`what` did not happen within `within`" (and what `probe` last
/// said, if it returned `Err`) once the deadline has passed. `probe` may
/// panic itself to end the wait early (a process exited too soon).
#[track_caller]
pub fn eventually<T, E: std::fmt::Display>(
    within: Duration,
    what: &str,
    probe: impl FnMut() -> Result<T, E>,
) -> T {
    match poll(within, probe) {
        Ok(value) => value,
        Err(last) => panic!("{what} did not happen within {within:?}; last seen: {last}"),
    }
}

/// The loop under [`eventually`], for a caller that has to clean up (kill
/// a process) before it fails: `Err` with what `probe` last said once
/// `within` has passed.
pub fn poll<T, E>(within: Duration, mut probe: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// [`eventually`] for a condition with nothing to report but yes or no.
#[track_caller]
pub fn wait_until(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    eventually(within, what, || {
        if condition() {
            Ok(())
        } else {
            Err("not yet")
        }
    })
}
