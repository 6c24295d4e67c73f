use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::board::Board;
use super::clean::{cut, json_line, map_text, neutralise, MAX_TEXT};
use super::color::Style;
use super::event::{Envelope, Event, ImageSummary, SCHEMA_VERSION};
use super::event_values::{ImageStatus, Step};
use super::held::Held;
use super::redact::Redactor;
use super::render::render;
use super::run_log::RunLog;
use super::screen::{terminal_width, Screen};

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
    /// Also plugin debug logs, the commands ops runs and the progress
    /// chatter builder plugins mark as such.
    Verbose,
}

/// The one place that writes to the terminal. Cheap to share behind an
/// `Arc`; writes from parallel tasks are serialised line by line so that
/// labelled output from concurrent image builds never interleaves mid-line.
pub struct Printer {
    format: Format,
    verbosity: Verbosity,
    redactor: Redactor,
    style: Style,
    /// `::group::` sections, for GitHub Actions' log viewer.
    groups: bool,
    started: Instant,
    state: Arc<Mutex<State>>,
    /// Human output collected here instead of stderr (tests).
    capture: Option<Arc<Mutex<String>>>,
}

#[derive(Default)]
struct State {
    /// Each image as far as it got, for the summary of a failed run.
    images: Vec<ImageSummary>,
    last_step: Option<Step>,
    group_open: bool,
    /// Per label: its output lines, as far as they are held.
    held: HashMap<String, Held>,
    log: Option<RunLog>,
    /// The live display, on a terminal.
    board: Option<(Board, Screen)>,
}

impl Printer {
    pub fn new(format: Format, verbosity: Verbosity, redactor: Redactor) -> Self {
        Printer {
            format,
            verbosity,
            redactor,
            style: Style::default(),
            groups: false,
            started: Instant::now(),
            state: Arc::new(Mutex::new(State::default())),
            capture: None,
        }
    }

    /// Collects human output in the returned buffer instead of stderr
    /// (for tests of what people would see).
    pub fn capturing(mut self) -> (Self, Arc<Mutex<String>>) {
        let buffer = Arc::new(Mutex::new(String::new()));
        self.capture = Some(buffer.clone());
        (self, buffer)
    }

    /// Shows progress as a live display (see [`Board`]); only for a
    /// terminal. A thread redraws it ten times a second for the spinners
    /// and clocks; it ends with the process.
    pub fn with_live_display(self, on: bool) -> Self {
        if !on || self.format != Format::Human {
            return self;
        }
        self.lock().board = Some((Board::new(self.style), Screen));
        let state = Arc::downgrade(&self.state);
        let redactor = self.redactor.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let Some(state) = state.upgrade() else { return };
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((board, screen)) = &mut state.board {
                let frame = board.frame(terminal_width(), Instant::now());
                screen.draw(&[], &frame, |text| write_stderr_raw(&redactor.redact(text)));
            }
        });
        self
    }

    /// Colours human output (see [`ColorChoice`](super::ColorChoice)).
    pub fn with_color(mut self, on: bool) -> Self {
        self.style = Style { on };
        self
    }

    /// Wraps each step in `::group::`/`::endgroup::`.
    pub fn with_groups(mut self, on: bool) -> Self {
        self.groups = on;
        self
    }

    /// Writes every event, at `-v` detail, to `log` too.
    pub fn attach_log(&self, log: RunLog) {
        self.lock().log = Some(log);
    }

    pub fn log_path(&self) -> Option<String> {
        let state = self.lock();
        state.log.as_ref().map(|l| l.path().display().to_string())
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
        // Masked before it is cut, so that a cut cannot split a secret and
        // leave half of it unmasked.
        let bounded = map_text(event, &|text| cut(&self.redactor.redact(text), MAX_TEXT, 0));
        // JSON escapes control characters itself; people and logs get them
        // written out.
        let shown = map_text(&bounded, &neutralise);
        let mut state = self.lock();
        state.track(event);
        if let Some(log) = &mut state.log {
            if let Some(text) = render(&shown, Verbosity::Verbose, Style::default()) {
                log.line(&self.redactor.redact(&text));
            }
        }
        match self.format {
            Format::Json => {
                let envelope = Envelope {
                    schema: SCHEMA_VERSION,
                    event: &bounded,
                };
                // Serialising these plain structs cannot fail; if it ever
                // does, losing one event beats aborting a build.
                if let Some(line) = json_line(&envelope) {
                    write_stdout(&self.redactor.redact(&line));
                }
            }
            Format::Human => self.emit_human(&mut state, &shown),
        }
    }

    fn emit_human(&self, state: &mut State, event: &Event) {
        if let Some((board, screen)) = &mut state.board {
            let path = state.log.as_ref().map(|l| l.path().display().to_string());
            let above = board.apply(event, path.as_deref());
            let frame = board.frame(terminal_width(), Instant::now());
            screen.draw(&above, &frame, |text| {
                self.write_err(&self.redactor.redact(text))
            });
            return;
        }
        match event {
            Event::Output {
                label,
                line,
                progress,
                ..
            } if !self.is_verbose() => {
                let held = state.held.entry(label.clone()).or_default();
                held.hold(line);
                let left_out = &mut held.left_out;
                if *progress {
                    *left_out = true;
                    return;
                }
            }
            Event::StepStarted { .. } if self.groups => {
                self.end_group(state);
                // The group's title is the step line itself.
                if let Some(text) = render(event, self.verbosity, Style::default()) {
                    self.stderr(&format!("::group::{text}"));
                    state.group_open = true;
                    return;
                }
            }
            Event::StepFinished { .. } | Event::Error { .. } | Event::Summary { .. } => {
                self.end_group(state)
            }
            _ => {}
        }
        if let Some(text) = render(event, self.verbosity, self.style) {
            self.stderr(&text);
        }
        if let Event::Image {
            service, status, ..
        } = event
        {
            if *status == ImageStatus::Failed {
                self.full_log(state, service);
            }
        }
    }

    /// A failed image's whole output, when some of it was left out.
    fn full_log(&self, state: &mut State, service: &str) {
        let Some(held) = state.held.remove(service).filter(|h| h.left_out) else {
            return;
        };
        self.stderr(&format!("---- full log of {service} ----"));
        for line in held.lines {
            self.stderr(&format!("[{service}] {line}"));
        }
        if held.dropped > 0 {
            self.stderr(&format!(
                "[{service}] [... {} more lines left out; the run log has them all]",
                held.dropped
            ));
        }
        self.stderr(&format!("---- end of {service} ----"));
    }

    fn end_group(&self, state: &mut State) {
        if std::mem::take(&mut state.group_open) {
            self.stderr("::endgroup::");
        }
    }

    /// Ends a failed run: the summary table, as far as each image got, once
    /// a step has started, and where the full log is.
    pub fn failed_run(&self) {
        let (step, images) = self.progress();
        if step.is_some() {
            self.emit(&Event::Summary {
                ok: false,
                round_trips: None,
                images,
                artifacts: Vec::new(),
                seconds: self.started.elapsed().as_secs_f64(),
            });
        }
    }

    /// The step started last, and each image as far as it got: where a
    /// failed run stopped (for the summary and the `on_failure` hook).
    pub fn progress(&self) -> (Option<Step>, Vec<ImageSummary>) {
        let state = self.lock();
        (state.last_step, state.images.clone())
    }

    /// Where the full log of this run is, if it has one.
    pub fn show_log_path(&self) {
        if let Some(path) = self.log_path() {
            self.emit(&Event::RunLog { path });
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
        let _state = self.lock();
        write_stdout(&neutralise(&self.redactor.redact(text)));
    }

    /// Shown only with `-v`: what ops is doing under the hood. Always in
    /// the run log.
    pub fn debug(&self, message: impl AsRef<str>) {
        let mut state = self.lock();
        let text = neutralise(&cut(&self.redactor.redact(message.as_ref()), MAX_TEXT, 0));
        if let Some(log) = &mut state.log {
            log.line(&text);
        }
        if self.is_verbose() && self.format == Format::Human {
            self.stderr(&text);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Callers hold the state lock, which keeps lines whole.
    fn stderr(&self, line: &str) {
        self.write_err(&format!("{}\n", self.redactor.redact(line)));
    }

    fn write_err(&self, text: &str) {
        match &self.capture {
            Some(buffer) => buffer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(text),
            None => write_stderr_raw(text),
        }
    }
}

impl State {
    fn track(&mut self, event: &Event) {
        match event {
            Event::StepStarted { step, .. } => self.last_step = Some(*step),
            Event::Image {
                service,
                image,
                status,
                digest,
                platforms,
                seconds,
            } => {
                let row = ImageSummary {
                    service: service.clone(),
                    image: image.clone(),
                    status: *status,
                    digest: digest.clone(),
                    platforms: platforms.clone(),
                    seconds: *seconds,
                };
                match self.images.iter_mut().find(|i| i.service == *service) {
                    Some(known) => *known = row,
                    None => self.images.push(row),
                }
            }
            _ => {}
        }
    }
}

fn write_stderr_raw(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

fn write_stdout(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`ops build | head`) must not turn into a panic.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
