use std::io::Write;
use std::sync::Mutex;

use super::event::Event;
use super::redact::Redactor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors and the final summary only.
    Quiet,
    #[default]
    Normal,
    /// Also plugin debug logs and the commands ops runs.
    Verbose,
}

/// The one place that writes to the terminal. Cheap to share behind an
/// `Arc`; writes from parallel tasks are serialised line by line so that
/// labelled output from concurrent image builds never interleaves mid-line.
pub struct Printer {
    format: Format,
    verbosity: Verbosity,
    redactor: Redactor,
    lock: Mutex<()>,
}

impl Printer {
    pub fn new(format: Format, verbosity: Verbosity, redactor: Redactor) -> Self {
        Printer {
            format,
            verbosity,
            redactor,
            lock: Mutex::new(()),
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn is_verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    /// Emits an event: a JSON line on stdout, or its human rendering on
    /// stderr (subject to verbosity).
    pub fn emit(&self, event: &Event) {
        match self.format {
            Format::Json => {
                let line = match serde_json::to_string(event) {
                    Ok(line) => line,
                    // Serialising these plain structs cannot fail; if it
                    // ever does, losing one event beats aborting a build.
                    Err(_) => return,
                };
                self.write_stdout_line(&self.redactor.redact(&line));
            }
            Format::Human => {
                if let Some(text) = self.render(event) {
                    self.write_stderr_line(&self.redactor.redact(&text));
                }
            }
        }
    }

    fn render(&self, event: &Event) -> Option<String> {
        let quiet = self.verbosity == Verbosity::Quiet;
        match event {
            Event::StepStarted { step, detail } if !quiet => Some(if detail.is_empty() {
                format!("==> {step}")
            } else {
                format!("==> {step}: {detail}")
            }),
            Event::StepFinished { step, seconds } if self.is_verbose() => {
                Some(format!("    {step} done in {seconds:.1}s"))
            }
            Event::Output {
                label,
                stream: _,
                line,
            } if !quiet => Some(if label.is_empty() {
                line.clone()
            } else {
                format!("[{label}] {line}")
            }),
            Event::PluginLog {
                plugin,
                level,
                message,
            } => {
                let shown = match level.as_str() {
                    "error" | "warn" => true,
                    "info" => !quiet,
                    _ => self.is_verbose(),
                };
                shown.then(|| format!("{plugin}: {message}"))
            }
            Event::Image {
                service,
                image,
                status,
                digest,
                seconds,
            } if !quiet => Some(match digest {
                Some(d) => format!("    {service}: {status} {image}@{d} ({seconds:.1}s)"),
                None => format!("    {service}: {status} {image} ({seconds:.1}s)"),
            }),
            Event::Info { message } if !quiet => Some(message.clone()),
            Event::Warning { message } => Some(format!("warning: {message}")),
            Event::Error { message, .. } => Some(format!("error: {message}")),
            Event::Summary {
                images, seconds, ..
            } => {
                let mut out = format!("Finished in {seconds:.1}s");
                if !images.is_empty() {
                    let service_width = images.iter().map(|i| i.service.len()).max().unwrap_or(0);
                    let image_width = images.iter().map(|i| i.image.len()).max().unwrap_or(0);
                    for img in images {
                        let digest = img.digest.as_deref().unwrap_or("(not pushed)");
                        out.push_str(&format!(
                            "\n  {:service_width$}  {:image_width$}  {}  {:>5.1}s",
                            img.service, img.image, digest, img.seconds
                        ));
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }

    pub fn info(&self, message: impl Into<String>) {
        self.emit(&Event::Info {
            message: message.into(),
        });
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.emit(&Event::Warning {
            message: message.into(),
        });
    }

    pub fn error(&self, message: impl Into<String>, code: u8) {
        self.emit(&Event::Error {
            message: message.into(),
            code,
        });
    }

    /// A command's result for people (a table, a listing): stdout, shown
    /// even with `-q`, since it is what the command was run for.
    pub fn data(&self, text: &str) {
        self.write_stdout_line(&self.redactor.redact(text));
    }

    /// Shown only with `-v`: what ops is doing under the hood.
    pub fn debug(&self, message: impl AsRef<str>) {
        if self.is_verbose() && self.format == Format::Human {
            self.write_stderr_line(&self.redactor.redact(message.as_ref()));
        }
    }

    fn write_stdout_line(&self, line: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::io::stdout().lock();
        // A closed stdout (`ops build | head`) must not turn into a panic.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn write_stderr_line(&self, line: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}
