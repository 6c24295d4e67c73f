//! All user-facing output goes through [`Printer`]: human text on stderr
//! (stdout is kept for what scripts read: `--output json` events, `ops exec`
//! output, completions), or one JSON event per line on stdout. Every byte
//! passes through the [`Redactor`] first, so a secret that reached a plugin
//! or a remote command cannot be printed back. Every event also goes, at
//! `-v` detail, to the run's log file ([`RunLog`]).

mod board;
mod clean;
mod color;
mod encodings;
mod event;
mod event_values;
mod held;
mod live;
mod printer;
mod redact;
mod render;
mod run_log;
mod screen;
mod summary;
mod table;

pub(crate) use clean::cut;
pub use color::ColorChoice;
pub use event::{ArtifactSummary, Event, ImageSummary, SCHEMA_VERSION};
pub use event_values::{ImageStatus, LogLevel, Step, Stream};
pub use live::{LiveOutput, Progress};
pub use printer::{Format, Printer, Verbosity};
pub use redact::Redactor;
pub use run_log::{state_dir, RunLog};
pub use screen::{pause_live_display, LivePause};
pub use table::plain_table;

#[cfg(test)]
mod tests;
