//! The data of one store: one call into one plugin.

use std::sync::Arc;

use super::capability::{Grants, Need};
use super::context::CallContext;
use super::host::WasiState;
use super::limits::{self, CallClock, Limits};

pub struct PluginState {
    pub(crate) plugin: Arc<str>,
    pub(crate) grants: Arc<Grants>,
    pub(crate) ctx: CallContext,
    /// Paths the plugin may read with `local.read-file`: values of the
    /// config section it was handed in this call.
    pub(crate) readable: Vec<String>,
    /// Where `node.write-file` may write: the build path of this call, if
    /// it has one, and the scratch directories the plugin got in it.
    pub(crate) build_path: Option<String>,
    pub(crate) scratch: Vec<String>,
    pub(crate) limiter: PluginLimiter,
    pub(crate) clock: Arc<CallClock>,
    /// Capability refusals during this call, to explain a failure.
    pub(crate) refusals: Vec<String>,
    /// Whether a host call of this call found the node's connection gone:
    /// then the call's failure is the lost node's, whatever the plugin
    /// made of it (plugins of API 0.1 and 0.2 can only pass on text).
    pub(crate) node_lost: bool,
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
        limits: &Limits,
    ) -> PluginState {
        PluginState {
            wasi: WasiState::new(plugin.clone(), ctx.printer.clone()),
            plugin,
            grants,
            ctx,
            readable: Vec::new(),
            build_path: None,
            scratch: Vec::new(),
            logged: 0,
            limiter: PluginLimiter {
                limit: limits.memory_bytes,
                memory: 0,
                table_elements: 0,
                exceeded: false,
            },
            clock: Arc::new(CallClock::new(limits)),
            refusals: Vec::new(),
            node_lost: false,
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

/// The limits of one store, which is one call into one plugin, over all
/// the memories and tables of all its core instances: a component can hold
/// any number of them, so a limit per memory would be no limit. Growth past
/// the limit traps (rather than returning -1 to the guest) so that the
/// cause is known for certain.
pub struct PluginLimiter {
    pub(crate) limit: usize,
    /// Bytes of all memories together.
    memory: usize,
    /// Elements of all tables together.
    table_elements: usize,
    pub(crate) exceeded: bool,
}

impl wasmtime::ResourceLimiter for PluginLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A growth that then fails elsewhere stays counted: the sum errs on
        // the side of the limit.
        let total = self.memory.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded",
                self.limit
            ));
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .table_elements
            .saturating_sub(current)
            .saturating_add(desired);
        if total > limits::MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        limits::MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        limits::MAX_TABLES
    }

    fn memories(&self) -> usize {
        limits::MAX_MEMORIES
    }
}
