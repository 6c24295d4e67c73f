//! The live display on a terminal: one line per running step or service,
//! with a spinner, its state and elapsed time, and the last few lines of
//! its output under it. What has finished scrolls up as ordinary lines;
//! the board is redrawn under them. On failure the failing output is shown
//! (its last [`FAILURE_LINES`] lines; the run log has the rest).
//!
//! [`Board`] only decides what to show; [`Screen`](super::screen::Screen)
//! writes it.

use std::collections::HashMap;
use std::time::Instant;

use super::color::{Paint, Style};
use super::event::Event;
use super::event_values::{ImageStatus, Step};
use super::printer::Verbosity;
use super::render::render;
use super::summary::{platform_list, short_digest};

/// Lines of a running entry's output kept visible under it.
const WINDOW: usize = 4;
/// Lines of a failed entry's output shown when it fails.
pub const FAILURE_LINES: usize = 50;
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

struct Entry {
    name: String,
    state: String,
    since: Instant,
    /// The newest lines (at most [`FAILURE_LINES`]), each with whether it
    /// is progress chatter (left out of the window).
    tail: Vec<(String, bool)>,
}

pub(super) struct Board {
    style: Style,
    started: Instant,
    /// The running step, then the services it runs, in order of appearance.
    entries: Vec<Entry>,
    /// Which service entries belong to (`images` or `push`).
    step: Option<Step>,
    seen: HashMap<String, usize>,
}

impl Board {
    pub fn new(style: Style) -> Board {
        Board {
            style,
            started: Instant::now(),
            entries: Vec::new(),
            step: None,
            seen: HashMap::new(),
        }
    }

    /// Applies an event; returns the lines that scroll up above the board.
    pub fn apply(&mut self, event: &Event, log_path: Option<&str>) -> Vec<String> {
        let style = self.style;
        let normal = move |e: &Event| render(e, Verbosity::Normal, style);
        match event {
            Event::StepStarted { step, detail } => {
                // `on_failure` starts only once something failed: what was
                // running then is what failed, shown before it goes.
                let failed = match step {
                    Step::OnFailure => self.fail_running(log_path),
                    _ => Vec::new(),
                };
                self.entries.clear();
                self.step = Some(*step);
                self.entries.push(Entry {
                    name: step.to_string(),
                    state: detail.clone(),
                    since: Instant::now(),
                    tail: Vec::new(),
                });
                failed
            }
            Event::StepFinished { step, seconds } => {
                let detail = self
                    .remove(step.as_str())
                    .map(|e| e.state)
                    .unwrap_or_default();
                let done = self.style.paint(Paint::Good, "✓");
                vec![format!("{done} {step} {detail} ({seconds:.1}s)")]
            }
            Event::Output {
                label,
                line,
                progress,
                ..
            } => {
                self.output(label, line, *progress);
                Vec::new()
            }
            Event::Image {
                service,
                image,
                status,
                digest,
                platforms,
                seconds,
            } => {
                let entry = self.remove(service);
                let (mark, paint) = match status {
                    ImageStatus::Failed => ("✗", Paint::Error),
                    ImageStatus::Skipped => ("-", Paint::Dim),
                    ImageStatus::Built | ImageStatus::Pushed => ("✓", Paint::Good),
                };
                let at = pushed_suffix(digest.as_deref(), platforms);
                let mut lines = vec![format!(
                    "  {} {service} {} {image}{at} ({seconds:.1}s)",
                    self.style.paint(paint, mark),
                    self.style.paint(paint, status.as_str())
                )];
                if *status == ImageStatus::Failed {
                    lines.extend(failure(service, entry, log_path));
                }
                lines
            }
            Event::Error { .. } | Event::Summary { .. } => {
                // What was running when the run failed is what failed.
                let mut lines = self.fail_running(log_path);
                lines.extend(normal(event));
                lines
            }
            _ => normal(event).into_iter().collect(),
        }
    }

    /// Every running entry, marked failed with the end of its output.
    fn fail_running(&mut self, log_path: Option<&str>) -> Vec<String> {
        let mut lines = Vec::new();
        for entry in std::mem::take(&mut self.entries) {
            let seconds = entry.since.elapsed().as_secs_f64();
            let mark = self.style.paint(Paint::Error, "✗");
            lines.push(format!(
                "{mark} {} {} ({seconds:.1}s)",
                entry.name, entry.state
            ));
            let name = entry.name.clone();
            lines.extend(failure(&name, Some(entry), log_path));
        }
        lines
    }

    fn output(&mut self, label: &str, line: &str, progress: bool) {
        let index = match self.entries.iter().position(|e| e.name == label) {
            Some(i) => i,
            None => {
                let state = match self.step {
                    Some(Step::Images) => "building",
                    Some(Step::Push) => "pushing",
                    _ => "running",
                };
                self.entries.push(Entry {
                    name: label.to_owned(),
                    state: state.into(),
                    since: Instant::now(),
                    tail: Vec::new(),
                });
                self.entries.len() - 1
            }
        };
        *self.seen.entry(label.to_owned()).or_default() += 1;
        let tail = &mut self.entries[index].tail;
        if tail.len() == FAILURE_LINES {
            tail.remove(0);
        }
        tail.push((line.to_owned(), progress));
    }

    fn remove(&mut self, name: &str) -> Option<Entry> {
        let index = self.entries.iter().position(|e| e.name == name)?;
        Some(self.entries.remove(index))
    }

    /// The board as it looks now, each line cut to `width` columns so that
    /// it takes exactly one row.
    pub fn frame(&self, width: usize, now: Instant) -> Vec<String> {
        let tick = (now.duration_since(self.started).as_millis() / 100) as usize;
        let spinner = SPINNER[tick % SPINNER.len()].to_string();
        let mut lines = Vec::new();
        for entry in &self.entries {
            let seconds = now.duration_since(entry.since).as_secs_f64();
            let head = format!(
                "{} {} {}",
                entry.name,
                entry.state,
                format_args!("{seconds:.0}s")
            );
            lines.push(format!(
                "{} {}",
                self.style.paint(Paint::Step, &spinner),
                cut(&head, width.saturating_sub(2))
            ));
            let shown: Vec<&String> = entry
                .tail
                .iter()
                .filter(|(line, noise)| !noise && !line.trim().is_empty())
                .map(|(line, _)| line)
                .collect();
            for line in &shown[shown.len().saturating_sub(WINDOW)..] {
                let text = cut(line, width.saturating_sub(4));
                lines.push(format!("  {} {}", self.style.paint(Paint::Dim, "│"), text));
            }
        }
        lines
    }
}

/// The end of a failed entry's output, and where the rest is.
fn failure(name: &str, entry: Option<Entry>, log_path: Option<&str>) -> Vec<String> {
    let Some(entry) = entry.filter(|e| !e.tail.is_empty()) else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "---- last {} lines of {name} ----",
        entry.tail.len()
    )];
    lines.extend(entry.tail.iter().map(|(l, _)| format!("[{name}] {l}")));
    lines.push(match log_path {
        Some(path) => format!("---- the whole output is in {path} ----"),
        None => format!("---- end of {name} ----"),
    });
    lines
}

/// `text` in at most `width` columns (one char, one column: the output of
/// builds is mostly ASCII, and a cut line is only cosmetic).
fn cut(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    let mut out: String = clean.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `@sha256:0123456789ab [linux/amd64, linux/arm64]` after a pushed image.
fn pushed_suffix(digest: Option<&str>, platforms: &[String]) -> String {
    let at = digest
        .map(|d| format!("@{}", short_digest(d)))
        .unwrap_or_default();
    at + &platform_list(platforms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Stream;

    fn output(label: &str, line: &str) -> Event {
        Event::Output {
            label: label.into(),
            stream: Stream::Stdout,
            line: line.into(),
            progress: false,
        }
    }

    #[test]
    fn a_running_step_shows_its_last_lines_and_folds_away_when_done() {
        let mut board = Board::new(Style::default());
        board.apply(
            &Event::StepStarted {
                step: Step::Build,
                detail: "make".into(),
            },
            None,
        );
        for i in 0..10 {
            board.apply(&output("build", &format!("line {i}")), None);
        }
        let frame = board.frame(40, Instant::now());
        assert_eq!(frame.len(), 1 + WINDOW, "{frame:?}");
        assert!(frame[0].contains("build make 0s"), "{frame:?}");
        assert!(frame[WINDOW].ends_with("│ line 9"), "{frame:?}");
        let above = board.apply(
            &Event::StepFinished {
                step: Step::Build,
                seconds: 1.5,
            },
            None,
        );
        assert_eq!(above, ["✓ build make (1.5s)"]);
        assert!(board.frame(40, Instant::now()).is_empty());
    }

    #[test]
    fn a_step_running_when_the_run_fails_is_the_failed_one() {
        let mut board = Board::new(Style::default());
        let started = step_event("build", "make");
        board.apply(&started, None);
        board.apply(&output("build", "error: no rule"), None);
        let above = board.apply(
            &Event::Error {
                message: "build command failed".into(),
                code: 5,
            },
            None,
        );
        assert!(above[0].starts_with("✗ build make ("), "{above:?}");
        assert_eq!(above[1], "---- last 1 lines of build ----");
        assert_eq!(above[2], "[build] error: no rule");
        assert_eq!(above.last().unwrap(), "error: build command failed");
        assert!(board.frame(80, Instant::now()).is_empty());
    }

    #[test]
    fn on_failure_shows_the_failed_step_before_it_starts() {
        let mut board = Board::new(Style::default());
        board.apply(&step_event("build", "make"), None);
        board.apply(&output("build", "error: no rule"), None);
        let above = board.apply(&step_event("on_failure", "notify"), None);
        assert!(above[0].starts_with("✗ build make ("), "{above:?}");
        assert_eq!(above[2], "[build] error: no rule");
        let frame = board.frame(80, Instant::now());
        assert!(frame[0].contains("on_failure notify"), "{frame:?}");
        // Another step starting shows nothing of the one before.
        assert!(board.apply(&step_event("sync", "git"), None).is_empty());
    }

    fn step_event(step: &str, detail: &str) -> Event {
        Event::StepStarted {
            step: step.parse().unwrap(),
            detail: detail.into(),
        }
    }

    #[test]
    fn a_failure_shows_the_end_of_the_output_and_the_log() {
        let mut board = Board::new(Style::default());
        board.apply(
            &Event::StepStarted {
                step: Step::Images,
                detail: String::new(),
            },
            None,
        );
        for i in 0..60 {
            board.apply(&output("api", &format!("step {i}")), None);
        }
        let above = board.apply(
            &Event::Image {
                service: "api".into(),
                image: "r/api:latest".into(),
                status: ImageStatus::Failed,
                digest: None,
                platforms: Vec::new(),
                seconds: 2.0,
            },
            Some("/state/run.log"),
        );
        assert_eq!(above[1], "---- last 50 lines of api ----");
        assert_eq!(above[2], "[api] step 10");
        assert_eq!(above[51], "[api] step 59");
        assert_eq!(above[52], "---- the whole output is in /state/run.log ----");
    }

    #[test]
    fn lines_fit_the_width() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("a\tb", 4), "a b");
    }
}
