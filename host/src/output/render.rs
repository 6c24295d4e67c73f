//! Events as lines for people: what each event looks like at each
//! verbosity. The printer decides where the lines go.

use super::color::{Paint, Style};
use super::event::Event;
use super::event_values::LogLevel;
use super::printer::Verbosity;
use super::summary;

pub(super) fn render(event: &Event, verbosity: Verbosity, style: Style) -> Option<String> {
    let quiet = verbosity == Verbosity::Quiet;
    let verbose = verbosity >= Verbosity::Verbose;
    match event {
        Event::StepStarted { step, detail } if !quiet => Some(if detail.is_empty() {
            style.paint(Paint::Step, &format!("==> {step}"))
        } else {
            format!(
                "{} {detail}",
                style.paint(Paint::Step, &format!("==> {step}:"))
            )
        }),
        Event::StepFinished { step, seconds } if verbose => {
            Some(format!("    {step} done in {seconds:.1}s"))
        }
        Event::Output { label, line, .. } if !quiet => Some(if label.is_empty() {
            line.clone()
        } else {
            format!("{} {line}", style.paint(Paint::Dim, &format!("[{label}]")))
        }),
        Event::PluginLog {
            plugin,
            level,
            message,
        } => {
            let shown = match level {
                LogLevel::Error | LogLevel::Warn => true,
                LogLevel::Info => !quiet,
                LogLevel::Debug | LogLevel::Trace => verbose,
            };
            shown.then(|| format!("{plugin}: {message}"))
        }
        Event::Image {
            service,
            image,
            status,
            digest,
            platforms,
            seconds,
        } if !quiet => {
            let status = style.paint(summary::status_paint(*status), status.as_str());
            let platforms = summary::platform_list(platforms);
            Some(match digest {
                Some(d) => {
                    format!("    {service}: {status} {image}@{d}{platforms} ({seconds:.1}s)")
                }
                None => format!("    {service}: {status} {image}{platforms} ({seconds:.1}s)"),
            })
        }
        Event::Artifact {
            path,
            bytes,
            mode,
            sha256,
        } if !quiet => Some(format!(
            "    {path}: {bytes} bytes, mode {mode}, sha256 {sha256}"
        )),
        Event::Pruned { .. } if !quiet => Some(summary::pruned(event)),
        Event::PruneSummary { .. } => Some(summary::prune(event)),
        Event::Info { message } if !quiet => Some(message.clone()),
        Event::Warning { message } => Some(format!(
            "{} {message}",
            style.paint(Paint::Warning, "warning:")
        )),
        Event::Error { message, .. } => {
            Some(format!("{} {message}", style.paint(Paint::Error, "error:")))
        }
        Event::RunLog { path } => Some(format!("full log: {path}")),
        Event::Summary {
            ok,
            images,
            artifacts,
            seconds,
            ..
        } => Some(summary::render(*ok, images, artifacts, *seconds, style)),
        _ => None,
    }
}
