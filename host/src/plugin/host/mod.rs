//! The host side of each WIT interface, one module per interface. Every
//! function that needs a capability checks it first, through
//! [`PluginState::check`](super::state::PluginState::check); `log` and
//! `local.project-root` need none. The host implements the latest API;
//! `v0_1_0` and `v0_2_0` adapt the older ones to it.
//!
//! Each function that does work for the plugin (running a program, a
//! request, a file on the node, showing its log) adds its duration to the
//! call's host time, so that the guest-time limit does not count a slow
//! `docker build` or a slow terminal; `environment.get` counts as plugin
//! time. The call's wall-clock limit counts everything.

mod environment;
mod error;
mod http;
mod local;
mod log;
mod node;
mod v0_1_0;
mod v0_2_0;
mod wasi;

pub(crate) use wasi::WasiState;

use std::time::Instant;

use super::bindings::types;
use super::state::PluginState;
use error::HostCallError;

impl types::Host for PluginState {}

impl PluginState {
    /// Marks the start of a host call, during which the guest-time limit
    /// stands still.
    pub(crate) fn host_call_begins(&self) -> Instant {
        self.clock.host_call_begins()
    }

    /// Adds the time since `start` to the call's host time.
    pub(crate) fn host_time_since(&mut self, start: Instant) {
        self.clock.host_call_ends(start);
    }

    /// A failed host call's typed error for the plugin, noting a lost node
    /// for the call's own verdict.
    pub(crate) fn typed(&mut self, error: HostCallError) -> types::Error {
        if error.is_node_lost() {
            self.node_lost = true;
        }
        error.into_typed()
    }

    /// Where a program's output is shown: under the plugin's label, or,
    /// with `-v`, under the plugin's name when it gave none.
    pub(crate) fn output_label(&self, label: Option<String>) -> Option<String> {
        label.or_else(|| {
            self.ctx
                .printer
                .is_verbose()
                .then(|| self.plugin.to_string())
        })
    }
}
