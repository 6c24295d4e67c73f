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
    mut probe: impl FnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let last = match probe() {
            Ok(value) => return value,
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            panic!("{what} did not happen within {within:?}; last seen: {last}");
        }
        std::thread::sleep(POLL);
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
