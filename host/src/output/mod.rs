//! All user-facing output goes through [`Printer`]: human text on stderr
//! (stdout is kept for what scripts read: `--output json` events, `ops exec`
//! output, completions), or one JSON event per line on stdout. Every byte
//! passes through the [`Redactor`] first, so a secret that reached a plugin
//! or a remote command cannot be printed back.

mod event;
mod live;
mod printer;
mod redact;

pub use event::{Event, ImageSummary};
pub use live::LiveOutput;
pub use printer::{Format, Printer, Verbosity};
pub use redact::Redactor;
