//! `[hooks]`: shell commands the project runs on this machine around
//! `ops build`. Their text is taken as written: `$NAME` in a hook is the
//! shell's to expand when the hook runs (`$OPS_TAG`), not ops.toml's, so
//! a hook is never a secret and never asks for a variable at load time.

use std::fmt;

use toml::de::{DeTable, DeValue};

use super::error::ConfigError;
use super::located::Located;
use super::reader::Reader;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookPoint {
    /// Before ops connects to the node; a failure stops the run there.
    PreBuild,
    /// After the build command succeeded on the node.
    PostBuild,
    /// After every image was pushed.
    PostPush,
    /// When the run failed.
    OnFailure,
}

impl HookPoint {
    pub const ALL: [HookPoint; 4] = [
        HookPoint::PreBuild,
        HookPoint::PostBuild,
        HookPoint::PostPush,
        HookPoint::OnFailure,
    ];

    /// The key in `[hooks]`, also the label its output is shown under.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookPoint::PreBuild => "pre_build",
            HookPoint::PostBuild => "post_build",
            HookPoint::PostPush => "post_push",
            HookPoint::OnFailure => "on_failure",
        }
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[hooks]`, each command with where it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    entries: Vec<(HookPoint, Located<String>)>,
}

impl Hooks {
    /// The command for `point`, if the file names one.
    pub fn get(&self, point: HookPoint) -> Option<&Located<String>> {
        self.entries
            .iter()
            .find(|(p, _)| *p == point)
            .map(|(_, command)| command)
    }

    /// Every hook the file names, in [`HookPoint::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (HookPoint, &Located<String>)> {
        self.entries.iter().map(|(p, c)| (*p, c))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads `[hooks]` from the top-level table, if present.
pub(super) fn hooks(r: &mut Reader, root: &DeTable) -> Result<Hooks, ConfigError> {
    let Some(value) = r.get(root, "", "hooks") else {
        return Ok(Hooks::default());
    };
    let table = r.table(value, "hooks")?;
    let keys: Vec<&str> = HookPoint::ALL.iter().map(|p| p.as_str()).collect();
    r.check_keys(table, "hooks", &keys)?;
    let mut entries = Vec::new();
    for point in HookPoint::ALL {
        let key = format!("hooks.{point}");
        let Some(value) = r.get(table, "hooks", point.as_str()) else {
            continue;
        };
        let DeValue::String(command) = value.get_ref() else {
            return Err(r.wrong_type(value, &key, "a shell command (a string)"));
        };
        let at = r.span_location(value);
        if command.trim().is_empty() {
            return Err(ConfigError::invalid(
                at,
                key,
                "must not be empty; remove the key to run no hook",
            ));
        }
        entries.push((
            point,
            Located {
                value: command.to_string(),
                at,
            },
        ));
    }
    Ok(Hooks { entries })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        let env = |name: &str| (name == "TOKEN").then(|| "t0k3n".to_owned());
        Config::parse(Path::new("/p/ops.toml"), text, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn every_hook_with_its_line_and_dollars_left_to_the_shell() {
        let c = parse(
            "[build]\ncommand = \"make\"\n[hooks]\npre_build = \"cargo fmt --check\"\n\
             post_build = 'echo built'\npost_push = \"notify $OPS_TAG ${OPS_IMAGES}\"\n\
             on_failure = \"echo $OPS_FAILED_STEP\"\n",
        )
        .unwrap();
        let hooks = &c.hooks;
        let pre = hooks.get(HookPoint::PreBuild).unwrap();
        assert_eq!(pre.as_str(), "cargo fmt --check");
        assert_eq!((pre.at.line, pre.at.column), (4, 13));
        assert_eq!(
            hooks.get(HookPoint::PostPush).unwrap().as_str(),
            "notify $OPS_TAG ${OPS_IMAGES}",
            "no $NAME of a hook is read from ops's environment"
        );
        assert_eq!(hooks.get(HookPoint::OnFailure).unwrap().at.line, 7);
        let order: Vec<_> = hooks.iter().map(|(p, _)| p).collect();
        assert_eq!(order, HookPoint::ALL);
        assert!(c.secrets().is_empty());
    }

    #[test]
    fn no_hooks_section_is_no_hooks() {
        let c = parse("[build]\ncommand = \"make\"\n").unwrap();
        assert!(c.hooks.is_empty());
        assert!(c.hooks.get(HookPoint::PreBuild).is_none());
    }

    #[test]
    fn an_unknown_hook_names_file_line_key_and_the_closest() {
        let e = parse("[hooks]\npre_build = \"true\"\npost_bulid = \"x\"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:3:1: "), "{e}");
        assert!(e.contains("unknown key `hooks.post_bulid`"), "{e}");
        assert!(e.contains("did you mean `hooks.post_build`"), "{e}");
    }

    #[test]
    fn a_hook_that_is_not_a_string_is_refused_at_its_value() {
        for (value, found) in [
            ("[\"make\", \"check\"]", "array"),
            ("true", "boolean"),
            ("3", "integer"),
        ] {
            let e = parse(&format!("[hooks]\npost_push = {value}\n")).unwrap_err();
            assert!(e.starts_with("/p/ops.toml:2:13: "), "{e}");
            assert!(
                e.contains("`hooks.post_push` must be a shell command"),
                "{e}"
            );
            assert!(e.contains(found), "{e}");
        }
        let e = parse("[hooks]\non_failure = \"  \"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:2:14: "), "{e}");
        assert!(e.contains("must not be empty"), "{e}");
        let e = parse("hooks = \"make\"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:1:9: "), "{e}");
        assert!(e.contains("`hooks` must be a table"), "{e}");
    }

    #[test]
    fn the_variables_secrets_came_from_are_known_by_name() {
        let c = parse("[build.image]\ntoken = \"$TOKEN\"\nusername = \"u\"\n").unwrap();
        assert_eq!(c.secret_variables(), ["TOKEN"]);
    }
}
