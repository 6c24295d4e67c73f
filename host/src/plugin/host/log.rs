//! `log`: plugin log lines, shown with the plugin's name. Needs no
//! capability. Secrets are masked by the printer like all output.

use crate::output::{cut, Event, LogLevel as Level};
use crate::plugin::bindings::latest::ops::plugin::log::Host;
use crate::plugin::bindings::types::LogLevel;
use crate::plugin::state::{PluginState, LOG_BUDGET};

/// Longer messages are cut: a log line is not a data channel.
const MAX_MESSAGE: usize = 64 * 1024;

impl Host for PluginState {
    async fn log(&mut self, level: LogLevel, message: String) {
        let start = self.host_call_begins();
        let level = match level {
            LogLevel::Trace => Level::Trace,
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
        };
        if self.logged > LOG_BUDGET {
            self.host_time_since(start);
            return;
        }
        self.logged += message.len();
        if self.logged > LOG_BUDGET {
            self.ctx.printer.emit(&Event::PluginLog {
                plugin: self.plugin.to_string(),
                level: Level::Warn,
                message: format!(
                    "logged more than {} MiB in one call; the rest of its log is left out",
                    LOG_BUDGET >> 20
                ),
            });
            self.host_time_since(start);
            return;
        }
        // Masked before it is cut, so that the cut cannot split a secret.
        let message = cut(&self.ctx.redactor.redact(&message), MAX_MESSAGE, 0);
        for line in message.lines() {
            self.ctx.printer.emit(&Event::PluginLog {
                plugin: self.plugin.to_string(),
                level,
                message: line.to_owned(),
            });
        }
        self.host_time_since(start);
    }
}
