//! The closed vocabularies of [`Event`](super::Event) fields: which step,
//! which stream, which log level, what became of an image. Serialised as
//! the words docs/output.md lists (the JSON is the same as when these were
//! strings); a value outside them cannot be emitted.

use std::fmt;

use serde::Serialize;

/// Defines a unit enum with its one spelling, used by serde, `Display`
/// and `as_str` alike, so the JSON and the human output cannot disagree.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum $name {
            $(#[serde(rename = $word)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;

            fn from_str(text: &str) -> Result<$name, UnknownWord> {
                match text {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord(text.to_owned())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A word that is not one of a field's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not one of this field's values")]
pub struct UnknownWord(pub String);

words! {
    /// A numbered step of `ops build`, in the order they run, and the
    /// project's local hooks around them.
    Step {
        PreBuild => "pre_build",
        Connect => "connect",
        Sync => "sync",
        Build => "build",
        PostBuild => "post_build",
        Login => "login",
        Images => "images",
        Push => "push",
        PostPush => "post_push",
        OnFailure => "on_failure",
    }
}

words! {
    /// Which of a program's streams a line came from.
    Stream {
        Stdout => "stdout",
        Stderr => "stderr",
    }
}

words! {
    /// A plugin log line's level, as the WIT `log-level` names it.
    LogLevel {
        Trace => "trace",
        Debug => "debug",
        Info => "info",
        Warn => "warn",
        Error => "error",
    }
}

words! {
    /// What became of one image.
    ImageStatus {
        Built => "built",
        Pushed => "pushed",
        Failed => "failed",
        Skipped => "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: impl Serialize) -> String {
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn the_json_word_is_the_display_word() {
        for step in [
            Step::PreBuild,
            Step::Connect,
            Step::Sync,
            Step::Build,
            Step::PostBuild,
            Step::Login,
            Step::Images,
            Step::Push,
            Step::PostPush,
            Step::OnFailure,
        ] {
            assert_eq!(json(step), format!("\"{step}\""));
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            assert_eq!(json(stream), format!("\"{stream}\""));
        }
        for level in [
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ] {
            assert_eq!(json(level), format!("\"{level}\""));
        }
        for status in [
            ImageStatus::Built,
            ImageStatus::Pushed,
            ImageStatus::Failed,
            ImageStatus::Skipped,
        ] {
            assert_eq!(json(status), format!("\"{status}\""));
        }
        assert_eq!(json(Step::Images), "\"images\"");
        assert_eq!("push".parse(), Ok(Step::Push));
        assert!("Push".parse::<Step>().is_err());
        assert_eq!(json(ImageStatus::Skipped), "\"skipped\"");
    }
}
