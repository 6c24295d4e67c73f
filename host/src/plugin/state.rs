//! The data of one store: one call into one plugin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::capability::{Grants, Need};
use super::context::CallContext;
use super::host::WasiState;

pub struct PluginState {
    pub(crate) plugin: Arc<str>,
    pub(crate) grants: Arc<Grants>,
    pub(crate) ctx: CallContext,
    /// Paths the plugin may read with `local.read-file`: values of the
    /// config section it was handed in this call.
    pub(crate) readable: Vec<String>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) clock: GuestClock,
    /// Capability refusals during this call, to explain a failure.
    pub(crate) refusals: Vec<String>,
    /// Bytes of log this call has shown, against [`LOG_BUDGET`].
    pub(crate) logged: usize,
    /// The restricted WASI a `wasm32-wasip2` component imports.
    pub(crate) wasi: WasiState,
}

/// Log bytes one plugin call may show: a plugin that floods its log (a
/// loop gone wrong, a hostile one) must not flood the terminal, the CI log
/// or the run log. What is beyond is dropped, with one note.
pub(crate) const LOG_BUDGET: usize = 1 << 20;

impl PluginState {
    pub(crate) fn new(
        plugin: Arc<str>,
        grants: Arc<Grants>,
        ctx: CallContext,
        memory_bytes: usize,
        guest_time: Duration,
    ) -> PluginState {
        PluginState {
            wasi: WasiState::new(plugin.clone(), ctx.printer.clone()),
            plugin,
            grants,
            ctx,
            readable: Vec::new(),
            logged: 0,
            limiter: MemoryLimiter {
                limit: memory_bytes,
                exceeded: false,
            },
            clock: GuestClock {
                started: Instant::now(),
                in_host: Duration::ZERO,
                budget: guest_time,
                exceeded: false,
            },
            refusals: Vec::new(),
        }
    }

    /// The capability check of every host call that needs one.
    pub(crate) fn check(&mut self, need: Need<'_>) -> Result<(), String> {
        self.grants.check(need).inspect_err(|refusal| {
            self.ctx
                .printer
                .debug(format!("{}: {refusal}", self.plugin));
            self.refusals.push(refusal.clone());
        })
    }
}

/// Memory limit of one store. Growth past the limit traps (rather than
/// returning -1 to the guest) so that the cause is known for certain.
pub struct MemoryLimiter {
    pub(crate) limit: usize,
    pub(crate) exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded",
                self.limit
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; nothing sane needs millions.
        Ok(desired <= 1 << 20)
    }
}

/// Time spent running plugin code in one call: wall time minus the time
/// spent in host calls.
pub struct GuestClock {
    started: Instant,
    pub(crate) in_host: Duration,
    pub(crate) budget: Duration,
    pub(crate) exceeded: bool,
}

impl GuestClock {
    pub(crate) fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }
}
