//! Per-invocation limits: memory and guest time.

use std::time::Duration;

/// Limits applied to every call into a plugin (each call gets a fresh
/// store). Environment overrides: `OPS_PLUGIN_MEMORY_MIB`,
/// `OPS_PLUGIN_TIME_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory a plugin may grow to, in bytes.
    pub memory_bytes: usize,
    /// Time a call may spend running plugin code. Time spent in host calls
    /// (a ten-minute `docker build` on the node) does not count.
    pub guest_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            guest_time: Duration::from_secs(30),
        }
    }
}

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
        if let Some(secs) = std::env::var("OPS_PLUGIN_TIME_SECS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
        {
            limits.guest_time = Duration::from_secs_f64(secs);
        }
        limits
    }
}
