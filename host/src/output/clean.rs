//! Text from outside ops (a node's output, a plugin's log or messages, a
//! remote error quoted in ours) made safe to print: bounded in size, and
//! with terminal control sequences shown as text instead of obeyed, so
//! that nobody can erase lines, retitle the terminal or fake ops's own
//! output.

use std::fmt::Write as _;

use super::event::{Event, ImageSummary};

/// The most of one text field that is printed or logged.
pub(super) const MAX_TEXT: usize = 64 * 1024;

/// `text` cut to at most `max` bytes (on a character boundary), saying how
/// much was left out. `more` counts bytes already left out before `text`
/// reached here.
pub(crate) fn cut(text: &str, max: usize, more: u64) -> String {
    if text.len() <= max && more == 0 {
        return text.to_owned();
    }
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let left_out = (text.len() - end) as u64 + more;
    format!("{} [... {left_out} more bytes left out]", &text[..end])
}

/// `text` with every control character other than newline and tab written
/// out as an escape (`\x1b`, `\r`, `\u{9b}`): ESC starts every ANSI
/// sequence (CSI, OSC, DCS), C1 characters are the one-character forms of
/// the same, a carriage return rewrites the line, and bidirectional
/// overrides reorder what is shown.
pub(crate) fn neutralise(text: &str) -> String {
    if !text.chars().any(is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if is_control(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn is_control(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `value` as one line of JSON, as `serde_json` writes it, except that the
/// control characters JSON lets through raw (C1, bidirectional overrides)
/// are written as `\u` escapes too, so that a JSON stream shown on a
/// terminal obeys none of them either.
pub(super) fn json_line(value: &impl serde::Serialize) -> Option<String> {
    let mut line = Vec::new();
    let mut writer = serde_json::Serializer::with_formatter(&mut line, EscapeControls);
    value.serialize(&mut writer).ok()?;
    String::from_utf8(line).ok()
}

struct EscapeControls;

impl serde_json::ser::Formatter for EscapeControls {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if !fragment.chars().any(is_control) {
            return writer.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if is_control(c) {
                write!(writer, "\\u{:04x}", c as u32)?;
            } else {
                writer.write_all(c.encode_utf8(&mut [0; 4]).as_bytes())?;
            }
        }
        Ok(())
    }
}

/// `event` with `f` applied to every text it carries. The typed fields
/// (step, stream, level, status, kind) are fixed words: nothing to mask.
pub(super) fn map_text(event: &Event, f: &dyn Fn(&str) -> String) -> Event {
    let mut event = event.clone();
    match &mut event {
        Event::StepStarted { detail, .. } => *detail = f(detail),
        Event::StepFinished { .. } => {}
        Event::Output { label, line, .. } => [label, line].into_iter().for_each(|s| *s = f(s)),
        Event::PluginLog {
            plugin, message, ..
        } => [plugin, message].into_iter().for_each(|s| *s = f(s)),
        Event::Image {
            service,
            image,
            digest,
            platforms,
            ..
        } => {
            [service, image].into_iter().for_each(|s| *s = f(s));
            digest.iter_mut().for_each(|s| *s = f(s));
            platforms.iter_mut().for_each(|s| *s = f(s));
        }
        Event::Plugin { .. }
        | Event::PluginInstalled { .. }
        | Event::PluginRemoved { .. }
        | Event::PluginInfo { .. }
        | Event::PluginPushed { .. }
        | Event::PluginOutdated { .. } => map_plugin(&mut event, f),
        Event::Info { message } | Event::Warning { message } | Event::Error { message, .. } => {
            *message = f(message)
        }
        Event::RunLog { path } => *path = f(path),
        Event::Connection { destination, .. } | Event::ConnectionClosed { destination } => {
            *destination = f(destination)
        }
        Event::Summary {
            images, artifacts, ..
        } => {
            images.iter_mut().for_each(|i| map_image(i, f));
            artifacts.iter_mut().for_each(|a| a.path = f(&a.path));
        }
        Event::Artifact { path, .. } => *path = f(path),
        Event::Pruned { image, build, .. } => [image, build].into_iter().for_each(|s| *s = f(s)),
        Event::PruneSummary { .. } => {}
        Event::NodeDisk {
            build_path,
            store_mount,
            ..
        } => {
            *build_path = f(build_path);
            store_mount.iter_mut().for_each(|s| *s = f(s));
        }
    }
    event
}

/// [`map_text`] for the events about plugins.
fn map_plugin(event: &mut Event, f: &dyn Fn(&str) -> String) {
    let all = |items: &mut Vec<String>| items.iter_mut().for_each(|s| *s = f(s));
    match event {
        Event::Plugin {
            name,
            version,
            api_version,
            source,
            sha256,
            description,
            ..
        } => [name, version, api_version, source, sha256, description]
            .into_iter()
            .for_each(|s| *s = f(s)),
        Event::PluginInstalled {
            name,
            version,
            previous_version,
            api_version,
            source,
            sha256,
            capabilities,
            config,
            ..
        } => {
            [name, version, api_version, source, sha256, config]
                .into_iter()
                .for_each(|s| *s = f(s));
            previous_version.iter_mut().for_each(|s| *s = f(s));
            all(capabilities);
        }
        Event::PluginRemoved { name, version } => {
            [name, version].into_iter().for_each(|s| *s = f(s))
        }
        Event::PluginInfo {
            name,
            version,
            api_version,
            source,
            sha256,
            capabilities,
            granted,
            config,
            ..
        } => {
            [name, version, api_version, source, sha256]
                .into_iter()
                .for_each(|s| *s = f(s));
            config.iter_mut().for_each(|s| *s = f(s));
            all(capabilities);
            all(granted);
        }
        Event::PluginPushed {
            name,
            version,
            reference,
            digest,
        } => [name, version, reference, digest]
            .into_iter()
            .for_each(|s| *s = f(s)),
        Event::PluginOutdated { .. } => map_outdated(event, f),
        _ => {}
    }
}

fn map_outdated(event: &mut Event, f: &dyn Fn(&str) -> String) {
    if let Event::PluginOutdated {
        name,
        requirement,
        locked,
        newest_in_range,
        newest_in_range_api,
        newest,
        held_back,
    } = event
    {
        [name, requirement].into_iter().for_each(|s| *s = f(s));
        [
            locked,
            newest_in_range,
            newest_in_range_api,
            newest,
            held_back,
        ]
        .into_iter()
        .for_each(|o| o.iter_mut().for_each(|s| *s = f(s)));
    }
}

fn map_image(image: &mut ImageSummary, f: &dyn Fn(&str) -> String) {
    for s in [&mut image.service, &mut image.image] {
        *s = f(s);
    }
    image.digest.iter_mut().for_each(|s| *s = f(s));
    image.platforms.iter_mut().for_each(|s| *s = f(s));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_shown_not_obeyed() {
        let text = "ok\x1b[2K\x1b[1A\r    Finished\x1b]0;title\x07\u{9b}31m\u{202e}x\tend\n";
        assert_eq!(
            neutralise(text),
            "ok\\x1b[2K\\x1b[1A\\r    Finished\\x1b]0;title\\x07\\u{9b}31m\\u{202e}x\tend\n"
        );
        assert_eq!(neutralise("plain ünïcode\ttab"), "plain ünïcode\ttab");
    }

    #[test]
    fn json_escapes_what_it_would_let_through() {
        let event = Event::Info {
            message: "a\u{1b}[2K\u{9b}1A\u{202e}b é".into(),
        };
        assert_eq!(
            json_line(&event).unwrap(),
            r#"{"event":"info","message":"a\u001b[2K\u009b1A\u202eb é"}"#
        );
        let plain = Event::Info {
            message: "plain \"quoted\" é\n".into(),
        };
        assert_eq!(
            json_line(&plain).unwrap(),
            serde_json::to_string(&plain).unwrap()
        );
    }

    #[test]
    fn cut_says_how_much_is_left_out() {
        assert_eq!(cut("abcdef", 10, 0), "abcdef");
        assert_eq!(cut("abcdef", 4, 0), "abcd [... 2 more bytes left out]");
        assert_eq!(cut("aé", 2, 5), "a [... 7 more bytes left out]");
    }
}
