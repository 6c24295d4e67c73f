//! The `log` facade, bridged to the host's `log` interface: `log::info!`
//! in a plugin shows in ops's output under the plugin's name (the host
//! adds it) at the matching level.

use crate::bindings::ops::plugin::log::log as host_log;
use crate::types::LogLevel;

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl log::Log for HostLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        // The host filters by its own verbosity.
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        };
        host_log(level, &record.args().to_string());
    }

    fn flush(&self) {}
}

/// Installs the bridge; the export macros call it before every call into
/// the plugin, and every call after the first is a no-op.
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}
