//! `ops.toml`: loading, `$ENV` interpolation and validation.

mod section;

pub use section::{Location, PluginSection, SectionEntry, SectionValue};
