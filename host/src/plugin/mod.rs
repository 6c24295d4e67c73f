//! The WebAssembly plugin runtime.
//!
//! Sync strategies, registry auth and image builders are WebAssembly
//! components written against one of the WIT contracts in `wit/`: the
//! latest, `wit/v0.3.0`, or the frozen `wit/v0.2.0` and `wit/v0.1.0` (one bindgen module
//! each, see `bindings`). This module runs them with wasmtime:
//!
//! - one [`Runtime`]: one engine (component model, epoch interruption,
//!   on-demand allocation), an epoch ticker thread, one linker with every
//!   host interface, and the on-disk compile cache ([`ComponentCache`]:
//!   `$OPS_CACHE_DIR`, else `$XDG_CACHE_HOME/ops`, else `~/.cache/ops`).
//! - [`Runtime::load`] compiles a component (or loads what this host
//!   compiled before), refuses it before instantiation if the
//!   `ops:plugin/...@X.Y.Z` interfaces it uses match none of the supported
//!   versions ([`API_VERSION`] and older), pre-instantiates it, and checks
//!   its metadata.
//! - Every call gets a fresh store with [`Limits`]: a memory cap and a
//!   budget of time spent in plugin code (host calls such as a long
//!   `docker build` do not count).
//! - Every host call that needs a capability checks it: declared in the
//!   plugin's metadata and granted (built-ins: what they declare; installed
//!   plugins: `[plugins.<name>] grant = [...]`). See [`capability`].
//! - Errors name the plugin; traps and limits never panic the host.
//! - Where the bytes come from (the store, `https://`, OCI, `ops.lock`,
//!   which plugin a project's name means) is [`crate::distribution`]'s
//!   business; this module depends on none of it.
//! - Only an embedded built-in that needs one (the git sync) may be given
//!   an ssh-agent on the node ([`Plugin::may_use_agent`]).
//!
//! The pipeline uses it like this:
//!
//! ```no_run
//! # async fn demo(config: &ops::config::Config, printer: std::sync::Arc<ops::output::Printer>,
//! #   node: std::sync::Arc<dyn ops::remote::RemoteNode>, git: &ops::config::PluginSection)
//! #   -> Result<(), Box<dyn std::error::Error>> {
//! use ops::distribution::Registry;
//! use ops::plugin::{CallContext, Limits, Runtime, SyncRequest};
//! let runtime = Runtime::new(Limits::from_env())?;
//! let registry = Registry::new(&runtime, &config.plugins)?;
//! let ctx = CallContext::new(printer, config.dir()).with_node(node);
//! let git_plugin = registry.sync_strategy("git").await?;
//! git_plugin.validate(&ctx, git).await?;
//! let outcome = git_plugin
//!     .sync(&ctx, SyncRequest { section: git, path: "/opt/b".into(), git_ref: None, branch: None })
//!     .await?;
//! # let _ = outcome; Ok(()) }
//! ```

mod agent;
mod bindings;
mod builtins;
mod cache;
mod capability;
mod compat;
mod context;
mod convert;
mod error;
mod handles;
mod host;
mod housekeeping;
mod limits;
mod loaded;
mod metadata;
mod requests;
mod runtime;
mod state;
mod validation;
pub mod version;

pub(crate) use agent::entitled as sync_agent;
pub use agent::{DEPLOY_KEY_PATH, FORWARD_AGENT_PATH};
pub use builtins::BUILTINS;
pub(crate) use cache::base_from_env as cache_base_from_env;
pub(crate) use cache::create_private_dir;
pub use cache::{ComponentCache, LoadSource};
pub use capability::{grant_items, Capability, Grant, Grants};
pub use context::CallContext;
pub use error::{Fault, Operation, PluginError};
pub use handles::{ImageBuilder, RegistryAuth, SyncStrategy};
pub use limits::Limits;
pub use loaded::Plugin;
pub use metadata::{Kind, Metadata};
pub use requests::{
    BuildRequest, Credentials, PushRequest, Pushed, StorageUsage, StoredImage, SyncOutcome,
    SyncRequest,
};
pub use runtime::{PluginSource, Runtime};
pub use validation::ValidationError;
pub use version::{API_VERSION, SUPPORTED as SUPPORTED_API_VERSIONS};
