//! A loaded plugin: its pre-instantiated component and metadata. Every call
//! gets a fresh store with the memory limit and the guest-time deadline.

use std::future::Future;
use std::sync::Arc;

use semver::Version;
use wasmtime::{Store, UpdateDeadline};

use super::bindings;
use super::bindings::types::Error as WitError;
use super::cache::LoadSource;
use super::capability::Grants;
use super::compat;
use super::context::CallContext;
use super::error::{Fault, Operation, PluginError};
use super::limits::{CallClock, Expired};
use super::metadata::{Kind, Metadata};
use super::runtime::{PluginSource, RuntimeInner};
use super::state::PluginState;

/// A pre-instantiated component: one variant per API version and world.
pub(crate) enum Pre {
    /// API 0.3.0 (and 0.2.0) has one world for every kind.
    Latest(bindings::latest::OpsPluginPre<PluginState>),
    V0_2(bindings::v0_2_0::OpsPluginPre<PluginState>),
    SyncV0_1(bindings::v0_1_0::sync::SyncStrategyPre<PluginState>),
    AuthV0_1(bindings::v0_1_0::auth::RegistryAuthPre<PluginState>),
    ImageV0_1(bindings::v0_1_0::image::ImageBuilderPre<PluginState>),
}

/// Instantiates any [`Pre`] in `$store` and calls its `plugin` export:
/// `$latest` with the latest API's export, `$v2` with 0.2.0's, `$old` with
/// 0.1.0's. Yields a `wasmtime::Result`.
macro_rules! plugin_export {
    (
        $pre:expr, $store:ident, |$p:ident| $latest:expr, |$r:ident| $v2:expr,
        |$q:ident| $old:expr
    ) => {
        match $pre {
            Pre::Latest(pre) => plugin_export!(@one pre, $store, $p, $latest),
            Pre::V0_2(pre) => plugin_export!(@one pre, $store, $r, $v2),
            Pre::SyncV0_1(pre) => plugin_export!(@one pre, $store, $q, $old),
            Pre::AuthV0_1(pre) => plugin_export!(@one pre, $store, $q, $old),
            Pre::ImageV0_1(pre) => plugin_export!(@one pre, $store, $q, $old),
        }
    };
    (@one $pre:ident, $store:ident, $p:ident, $call:expr) => {
        match $pre.instantiate_async(&mut $store).await {
            Ok(bindings) => {
                let $p = bindings.ops_plugin_plugin();
                $call.await
            }
            Err(e) => Err(e),
        }
    };
}

pub(crate) struct PluginInner {
    pub(crate) name: String,
    pub(crate) source: PluginSource,
    pub(crate) sha256: String,
    pub(crate) metadata: Metadata,
    pub(crate) api_target: Version,
    pub(crate) load_source: LoadSource,
    pub(crate) pre: Pre,
    pub(crate) grants: Arc<Grants>,
    pub(crate) runtime: Arc<RuntimeInner>,
}

/// A loaded plugin of any kind. Cheap to clone. Turn it into a typed handle
/// with [`Plugin::sync_strategy`], [`Plugin::registry_auth`] or
/// [`Plugin::image_builder`].
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<PluginInner>,
}

impl Plugin {
    pub(crate) fn from_inner(inner: PluginInner) -> Plugin {
        Plugin {
            inner: Arc::new(inner),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    pub fn kind(&self) -> Kind {
        self.inner.metadata.kind
    }

    pub fn source(&self) -> &PluginSource {
        &self.inner.source
    }

    /// Whether this plugin's config may ask for an ssh-agent on the node:
    /// only an embedded built-in that needs one. A plugin the user installs
    /// or names by path never may, whatever its name.
    pub fn may_use_agent(&self) -> bool {
        self.inner.source == PluginSource::Builtin
            && super::builtins::may_use_agent(&self.inner.name)
    }

    /// Hex sha256 of the component's bytes.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// The API version the component's interfaces carry.
    pub fn api_target(&self) -> &Version {
        &self.inner.api_target
    }

    /// Whether this load compiled the component or found it in the cache.
    pub fn load_source(&self) -> LoadSource {
        self.inner.load_source
    }

    /// Checks the plugin's config section (any kind of plugin).
    pub async fn validate(
        &self,
        ctx: &CallContext,
        section: &crate::config::PluginSection,
    ) -> Result<(), super::validation::ValidationError> {
        self.inner.validate(ctx, section).await
    }
}

impl PluginInner {
    pub(crate) fn new_store(&self, ctx: CallContext, readable: Vec<String>) -> Store<PluginState> {
        let limits = self.runtime.limits;
        let mut state = PluginState::new(
            Arc::from(self.name.as_str()),
            self.grants.clone(),
            ctx,
            &limits,
        );
        state.readable = readable;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|cx| {
            if cx.data().clock.expired().is_some() {
                return Err(wasmtime::format_err!("time limit exceeded"));
            }
            // Yield so that a busy plugin cannot starve other tasks (parallel
            // image builds) on the same runtime thread.
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Turns a failed call into an error that says what happened.
    pub(crate) fn call_error(
        &self,
        operation: Operation,
        store: &Store<PluginState>,
        error: wasmtime::Error,
    ) -> PluginError {
        let state = store.data();
        let plugin = self.name.clone();
        if state.limiter.exceeded {
            return PluginError::MemoryLimit {
                plugin,
                limit_mib: state.limiter.limit >> 20,
            };
        }
        if let Some(which) = state.clock.exceeded() {
            let seconds = state.clock.budget(which).as_secs_f64();
            return match which {
                Expired::Guest => PluginError::Deadline {
                    plugin,
                    operation,
                    seconds,
                },
                Expired::Call => PluginError::CallDeadline {
                    plugin,
                    operation,
                    seconds,
                },
            };
        }
        let message = match error.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => error.to_string(),
        };
        PluginError::Trap {
            plugin,
            operation,
            message,
        }
    }

    /// The result of an export call as the host sees it: a trap or limit
    /// (`call_error`), the plugin's own failure (`failed`), or its value.
    pub(crate) fn settle<T>(
        &self,
        operation: Operation,
        store: &Store<PluginState>,
        result: Result<Result<T, WitError>, wasmtime::Error>,
    ) -> Result<T, PluginError> {
        match result {
            Err(e) => Err(self.call_error(operation, store, e)),
            Ok(Err(message)) => Err(self.failed(operation, store, message)),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// A plugin's own error, with the capability refusals that probably
    /// caused it. When a host call of this call found the node gone, the
    /// failure is the lost node's, whatever the plugin made of it.
    pub(crate) fn failed(
        &self,
        operation: Operation,
        store: &Store<PluginState>,
        error: WitError,
    ) -> PluginError {
        let (fault, message) = fault_of(error);
        let fault = if store.data().node_lost {
            Fault::NodeLost
        } else {
            fault
        };
        let refusals = &store.data().refusals;
        let message = bounded_message(message);
        let message =
            if refusals.is_empty() || refusals.iter().all(|r| message.contains(r.as_str())) {
                message
            } else {
                format!("{message} ({})", refusals.join("; "))
            };
        PluginError::Failed {
            plugin: self.name.clone(),
            operation,
            fault,
            message,
        }
    }

    pub(crate) async fn raw_metadata(
        &self,
    ) -> Result<bindings::types::PluginMetadata, PluginError> {
        // No printer is involved in a metadata call, but the state needs a
        // context; a quiet one that prints nothing.
        let ctx = CallContext::new(
            Arc::new(crate::output::Printer::new(
                crate::output::Format::Human,
                crate::output::Verbosity::Quiet,
                crate::output::Redactor::new(),
            )),
            std::path::PathBuf::new(),
        );
        let mut store = self.new_store(ctx, Vec::new());
        let op = Operation::Metadata;
        let clock = store.data().clock.clone();
        let result = within_limits(&clock, async {
            plugin_export!(
                &self.pre,
                store,
                |p| p.call_metadata(&mut store),
                |p| async {
                    p.call_metadata(&mut store)
                        .await
                        .map(compat::v0_2::metadata)
                },
                |p| async {
                    p.call_metadata(&mut store)
                        .await
                        .map(compat::v0_1::metadata)
                }
            )
        })
        .await;
        result.map_err(|e| self.call_error(op, &store, e))
    }

    pub(crate) async fn validate(
        &self,
        ctx: &CallContext,
        section: &crate::config::PluginSection,
    ) -> Result<(), super::validation::ValidationError> {
        use super::convert;
        let config = convert::to_wit(section);
        let mut store = self.new_store(ctx.clone(), convert::readable_paths(section));
        let op = Operation::Validate;
        let old_config = compat::v0_1::config(&config);
        let v2_config = compat::v0_2::config(&config);
        let clock = store.data().clock.clone();
        let result = within_limits(&clock, async {
            plugin_export!(
                &self.pre,
                store,
                |p| p.call_validate(&mut store, &config),
                |p| async {
                    let result = p.call_validate(&mut store, &v2_config).await;
                    result.map(|r| r.map_err(compat::v0_2::config_errors))
                },
                |p| async {
                    let result = p.call_validate(&mut store, &old_config).await;
                    result.map(|r| r.map_err(compat::v0_1::config_errors))
                }
            )
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(errors)) if errors.is_empty() => Err(
                super::validation::ValidationError::Plugin(PluginError::Contract {
                    plugin: self.name.clone(),
                    message: format!("it rejected [{}] without saying why", section.path),
                }),
            ),
            Ok(Err(errors)) => Err(super::validation::ValidationError::Invalid(
                convert::to_config_errors(&self.name, section, errors),
            )),
            Err(e) => Err(super::validation::ValidationError::Plugin(
                self.call_error(op, &store, e),
            )),
        }
    }
}

/// Runs `call` (instantiation and export call in one store) until it ends
/// or a time limit of `clock` runs out. The epoch callback stops a guest
/// that runs wasm; this stops one waiting in WASI (a clock, `poll`), which
/// runs none: the call's future is dropped, which ends the wait and frees
/// the runtime thread.
pub(crate) async fn within_limits<T>(
    clock: &CallClock,
    call: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    tokio::select! {
        result = call => result,
        which = clock.watchdog() => Err(wasmtime::format_err!("{which:?} time limit exceeded")),
    }
}

/// The kind and words of a plugin's typed error.
fn fault_of(error: WitError) -> (Fault, String) {
    match error {
        WitError::Refused(m) => (Fault::Refused, m),
        WitError::Transient(m) => (Fault::Transient, m),
        WitError::NodeLost(m) => (Fault::NodeLost, m),
        WitError::ToolMissing(t) => (
            Fault::ToolMissing {
                remedy: bounded_message(t.remedy),
            },
            t.message,
        ),
        WitError::NoSpace(n) => (
            Fault::NoSpace {
                location: bounded_message(n.location),
            },
            n.message,
        ),
        WitError::Failed(m) => (Fault::Failed, m),
    }
}

/// A failure message is shown to people: one a plugin made megabytes long
/// is cut, saying how much was left out.
const MAX_FAILURE_MESSAGE: usize = 16 << 10;

fn bounded_message(mut message: String) -> String {
    if message.len() <= MAX_FAILURE_MESSAGE {
        return message;
    }
    let mut cut = MAX_FAILURE_MESSAGE;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    let left_out = message.len() - cut;
    message.truncate(cut);
    message.push_str(&format!(" [... {left_out} more bytes left out]"));
    message
}
