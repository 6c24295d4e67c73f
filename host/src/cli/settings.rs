//! Turns clap's arguments into the settings each command takes; commands
//! never see clap types.

use super::args::{BuildArgs, ExecArgs, LockCommand, NodeArgs};
use crate::node::exec::ExecSettings;
use crate::node::ReachSettings;
use crate::pipeline::{BuildSettings, LockAction, LockSettings};

fn reach(args: &NodeArgs) -> ReachSettings {
    ReachSettings {
        accept_new_host_key: args.accept_new_host_key,
        home: None,
    }
}

pub fn build(args: BuildArgs) -> BuildSettings {
    BuildSettings {
        reach: reach(&args.node),
        config_file: args.node.file,
        git_ref: args.git_ref,
        service: args.service,
        tag: args.tag,
        push: !args.no_push,
        jobs: args.jobs,
        dry_run: args.dry_run,
        locked: args.locked,
        lock_wait: args.lock_wait,
        command_line: command_line(),
    }
}

/// `ops config check -f FILE`: the checks of `ops build -f FILE --dry-run`
/// with the command line's defaults.
pub fn check(file: std::path::PathBuf) -> BuildSettings {
    BuildSettings {
        reach: ReachSettings {
            accept_new_host_key: false,
            home: None,
        },
        config_file: file,
        git_ref: None,
        service: None,
        tag: crate::domain::Tag::latest(),
        push: true,
        jobs: 5,
        dry_run: true,
        locked: false,
        lock_wait: std::time::Duration::from_secs(600),
        command_line: command_line(),
    }
}

/// ops's own command line, as the user typed it (for the lock's record).
fn command_line() -> String {
    let words: Vec<String> = std::env::args().collect();
    let name = std::path::Path::new(words.first().map(String::as_str).unwrap_or("ops"))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ops".into());
    std::iter::once(name)
        .chain(words.into_iter().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn exec(args: ExecArgs) -> ExecSettings {
    ExecSettings {
        reach: reach(&args.node),
        config_file: args.node.file,
        command: args.command,
    }
}

pub fn lock(command: LockCommand) -> LockSettings {
    let (node, action) = match command {
        LockCommand::Status { node } => (node, LockAction::Status),
        LockCommand::Release { node, force } => (node, LockAction::Release { force }),
    };
    LockSettings {
        reach: reach(&node),
        config_file: node.file,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    #[test]
    fn build_defaults_are_the_specs() {
        let Command::Build(args) = Cli::try_parse_from(["ops", "build"]).unwrap().command else {
            panic!("not build")
        };
        let settings = build(args);
        let defaults = BuildSettings::new("ops.toml");
        assert_eq!(settings.config_file, defaults.config_file);
        assert_eq!(settings.tag, defaults.tag);
        assert_eq!(settings.jobs, defaults.jobs);
        assert_eq!(settings.push, defaults.push);
        assert!(!settings.dry_run && settings.git_ref.is_none() && settings.service.is_none());
    }

    #[test]
    fn build_options_reach_the_settings() {
        let argv = "ops build -f ops.prod.toml --ref v1.2.0 -s api -t abc123 --no-push -j 3 \
                    --dry-run --accept-new-host-key";
        let Command::Build(args) = Cli::try_parse_from(argv.split(' ')).unwrap().command else {
            panic!("not build")
        };
        let settings = build(args);
        assert_eq!(settings.config_file.to_str(), Some("ops.prod.toml"));
        assert_eq!(
            settings.git_ref.as_ref().map(|r| r.as_str()),
            Some("v1.2.0")
        );
        assert_eq!(settings.service.as_deref(), Some("api"));
        assert_eq!(settings.tag.as_str(), "abc123");
        assert!(!settings.push && settings.dry_run && settings.reach.accept_new_host_key);
        assert_eq!(settings.jobs, 3);
    }
}
