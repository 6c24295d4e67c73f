//! Per-invocation limits: memory, instances and tables, plugin time and a
//! wall-clock deadline, and the clock that enforces the time limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Limits applied to every call into a plugin (each call gets a fresh
/// store). Environment overrides: `OPS_PLUGIN_MEMORY_MIB`,
/// `OPS_PLUGIN_TIME_SECS`, `OPS_PLUGIN_CALL_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a plugin may hold, summed over all its memories, in
    /// bytes.
    pub memory_bytes: usize,
    /// Wall-clock time a call may spend anywhere but in host calls that do
    /// work the plugin was granted (a ten-minute `docker build` on the
    /// node does not count): running plugin code, and waiting in WASI
    /// (clocks, `poll`), which no capability guards.
    pub guest_time: Duration,
    /// Wall-clock time a call may take in all, host calls included.
    pub call_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            guest_time: Duration::from_secs(30),
            call_time: Duration::from_secs(60 * 60),
        }
    }
}

/// Core instances, tables and memories one call may create: the built-ins
/// need a handful each; wasmtime's own defaults are in the thousands.
pub(crate) const MAX_INSTANCES: usize = 64;
pub(crate) const MAX_TABLES: usize = 64;
pub(crate) const MAX_MEMORIES: usize = 16;
/// Table elements over all tables: function references, of which nothing
/// sane needs millions.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl Limits {
    /// The defaults, with any environment overrides applied; malformed
    /// values are ignored in favour of the defaults.
    pub fn from_env() -> Limits {
        let mut limits = Limits::default();
        if let Some(mib) = std::env::var("OPS_PLUGIN_MEMORY_MIB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
        {
            limits.memory_bytes = mib.saturating_mul(1 << 20);
        }
        if let Some(secs) = seconds("OPS_PLUGIN_TIME_SECS") {
            limits.guest_time = secs;
        }
        if let Some(secs) = seconds("OPS_PLUGIN_CALL_SECS") {
            limits.call_time = secs;
        }
        limits
    }
}

fn seconds(var: &str) -> Option<Duration> {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0 && *v < 1e9)
        .map(Duration::from_secs_f64)
}

/// Which time limit a call ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Plugin code and WASI waits: [`Limits::guest_time`].
    Guest,
    /// Everything: [`Limits::call_time`].
    Call,
}

/// The time of one call. Shared between the store (whose epoch callback
/// stops a busy guest) and the watchdog that races the call's future, so
/// that a guest blocked in a WASI wait, which runs no wasm and so meets no
/// epoch check, is stopped on time too.
pub(crate) struct CallClock {
    started: Instant,
    guest_budget: Duration,
    call_budget: Duration,
    host: Mutex<HostTime>,
    guest_exceeded: AtomicBool,
    call_exceeded: AtomicBool,
}

#[derive(Default)]
struct HostTime {
    /// Finished host calls.
    spent: Duration,
    /// When the host call under way began.
    current: Option<Instant>,
}

/// The watchdog never sleeps less than this: it is the deadline's grain.
const GRAIN: Duration = Duration::from_millis(10);

impl CallClock {
    pub(crate) fn new(limits: &Limits) -> CallClock {
        CallClock {
            started: Instant::now(),
            guest_budget: limits.guest_time,
            call_budget: limits.call_time,
            host: Mutex::new(HostTime::default()),
            guest_exceeded: AtomicBool::new(false),
            call_exceeded: AtomicBool::new(false),
        }
    }

    fn host(&self) -> std::sync::MutexGuard<'_, HostTime> {
        self.host.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn host_call_begins(&self) -> Instant {
        let now = Instant::now();
        self.host().current = Some(now);
        now
    }

    pub(crate) fn host_call_ends(&self, start: Instant) {
        let mut host = self.host();
        host.spent += start.elapsed();
        host.current = None;
    }

    /// Wall time minus finished host calls; frozen during a host call.
    fn guest_time(&self) -> Duration {
        let host = self.host();
        let until = host.current.unwrap_or_else(Instant::now);
        until
            .saturating_duration_since(self.started)
            .saturating_sub(host.spent)
    }

    /// The limit this call has run out of, if any; it is remembered for
    /// the error.
    pub(crate) fn expired(&self) -> Option<Expired> {
        if self.started.elapsed() > self.call_budget {
            self.call_exceeded.store(true, Ordering::Relaxed);
            return Some(Expired::Call);
        }
        if self.guest_time() > self.guest_budget {
            self.guest_exceeded.store(true, Ordering::Relaxed);
            return Some(Expired::Guest);
        }
        None
    }

    /// The limit that stopped the call, if one did.
    pub(crate) fn exceeded(&self) -> Option<Expired> {
        if self.call_exceeded.load(Ordering::Relaxed) {
            Some(Expired::Call)
        } else if self.guest_exceeded.load(Ordering::Relaxed) {
            Some(Expired::Guest)
        } else {
            None
        }
    }

    pub(crate) fn budget(&self, which: Expired) -> Duration {
        match which {
            Expired::Guest => self.guest_budget,
            Expired::Call => self.call_budget,
        }
    }

    /// Ends when a limit is exceeded. Raced against the call's future, so
    /// that the call is dropped on time whatever it is waiting for.
    pub(crate) async fn watchdog(&self) -> Expired {
        loop {
            if let Some(which) = self.expired() {
                return which;
            }
            let call_left = self.call_budget.saturating_sub(self.started.elapsed());
            // During a host call guest time stands still, so it cannot
            // run out sooner than what is left of it, counted from now.
            let guest_left = self.guest_budget.saturating_sub(self.guest_time());
            let next = call_left.min(guest_left);
            tokio::time::sleep(next.max(GRAIN)).await;
        }
    }
}
