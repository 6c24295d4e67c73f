//! Whether human output is coloured, and the few styles it uses.
//!
//! `--color always|never` wins; with `auto` the conventions of other
//! command-line tools apply in this order: `NO_COLOR` (set and not empty)
//! turns colour off, `CLICOLOR_FORCE` (set and not `0`) turns it on even
//! through a pipe, `TERM=dumb` turns it off, and otherwise stderr being a
//! terminal decides.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Resolves the choice against the environment (`env` reads one
    /// variable) and whether the output goes to a terminal.
    pub fn enabled(self, env: impl Fn(&str) -> Option<String>, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                let set = |name: &str| env(name).filter(|v| !v.is_empty());
                if set("NO_COLOR").is_some() {
                    false
                } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                    true
                } else if env("TERM").as_deref() == Some("dumb") {
                    false
                } else {
                    terminal
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Paint {
    Step,
    Error,
    Warning,
    Good,
    Dim,
    Bold,
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Style {
    pub on: bool,
}

impl Style {
    pub fn paint(&self, paint: Paint, text: &str) -> String {
        if !self.on || text.is_empty() {
            return text.to_owned();
        }
        let code = match paint {
            Paint::Step => "1;34",
            Paint::Error => "1;31",
            Paint::Warning => "1;33",
            Paint::Good => "32",
            Paint::Dim => "2",
            Paint::Bold => "1",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn auto_follows_the_terminal_and_the_conventions() {
        let auto = ColorChoice::Auto;
        assert!(auto.enabled(env(&[]), true));
        assert!(!auto.enabled(env(&[]), false));
        assert!(!auto.enabled(env(&[("NO_COLOR", "1")]), true));
        // An empty NO_COLOR is as good as unset.
        assert!(auto.enabled(env(&[("NO_COLOR", "")]), true));
        assert!(auto.enabled(env(&[("CLICOLOR_FORCE", "1")]), false));
        assert!(!auto.enabled(env(&[("CLICOLOR_FORCE", "0")]), false));
        assert!(!auto.enabled(env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]), true));
        assert!(!auto.enabled(env(&[("TERM", "dumb")]), true));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        assert!(ColorChoice::Always.enabled(env(&[("NO_COLOR", "1")]), false));
        assert!(!ColorChoice::Never.enabled(env(&[("CLICOLOR_FORCE", "1")]), true));
    }

    #[test]
    fn paint_is_a_no_op_without_colour() {
        assert_eq!(Style { on: false }.paint(Paint::Error, "x"), "x");
        assert_eq!(
            Style { on: true }.paint(Paint::Error, "x"),
            "\x1b[1;31mx\x1b[0m"
        );
    }
}
