//! `ops.toml`: loading, `$ENV` interpolation and validation.
//!
//! The schema is the spec's `[build]` (with `[build.git]`, `[build.image]`,
//! `[build.push]`) plus `project`, `target`, `[nodes.<id>]`, `[api]`,
//! `[plugins.<name>]` and `[hooks]`. Every string but a hook's shell
//! command may contain `$NAME` or `${NAME}` (`$$` for a literal dollar);
//! such values are secrets: registered with the
//! [`Redactor`](crate::output::Redactor) and marked
//! [`SectionValue::Secret`] in plugin sections. Unknown keys are errors with
//! a "did you mean", except inside the plugins' sections (`[build.git]`,
//! `[build.push]`, `[build.<name>]`, and the image builder's keys of
//! `[build.image]`), which their plugins validate. Every error carries
//! file:line:column and exits with code 2.

mod decl;
mod error;
#[cfg(test)]
mod fuzz;
mod hooks;
mod interpolate;
mod located;
mod mirror;
mod node_policy;
mod nul;
mod parse;
mod reader;
mod requirement;
mod schema;
mod section;
mod snippet;

pub use decl::check_url;
pub use error::{ConfigError, ConfigErrorKind};
pub use hooks::{HookPoint, Hooks};
pub use located::Located;
pub use mirror::check_mirror;
pub use node_policy::{NodePolicy, MAX_KEEP};
pub use schema::{
    ApiConfig, BuildConfig, Config, DeclSource, ImageConfig, NodeEntry, NodeRef, PluginDecl,
    PluginRules, BUILTIN_SOURCES,
};
pub use section::{Location, PluginSection, SectionEntry, SectionValue};
pub use snippet::closest;
