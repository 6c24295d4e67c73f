//! Turns clap's arguments into the settings each command takes; commands
//! never see clap types.

use super::args::{
    BuildArgs, Command, ConfigCommand, ConnectionCommand, ExecArgs, LockCommand, NewKindArg,
    NodeArgs, NodeCommand, PluginCommand, TrustArgs, TrustCommand,
};
use crate::author::NewKind;
use crate::commands::completions::CompletionsSettings;
use crate::commands::config_check::ConfigCheckSettings;
use crate::commands::connection::ConnectionSettings;
use crate::commands::exec::{ExecSettings, Tty};
use crate::commands::init::InitSettings;
use crate::commands::lock::{LockAction, LockSettings};
use crate::commands::node::{NodeAction, NodeSettings};
use crate::commands::plugin_build::PluginBuildSettings;
use crate::commands::plugin_info::PluginInfoSettings;
use crate::commands::plugin_install::PluginInstallSettings;
use crate::commands::plugin_list::PluginListSettings;
use crate::commands::plugin_mirror::PluginMirrorSettings;
use crate::commands::plugin_new::PluginNewSettings;
use crate::commands::plugin_outdated::PluginOutdatedSettings;
use crate::commands::plugin_push::PluginPushSettings;
use crate::commands::plugin_remove::PluginRemoveSettings;
use crate::commands::plugin_sign::{PluginSignSettings, PluginVerifySettings};
use crate::commands::plugin_trust::PluginTrustSettings;
use crate::commands::plugin_update::PluginUpdateSettings;
use crate::commands::trust::TrustSettings;
use crate::node::ReachSettings;
use crate::pipeline::BuildSettings;

/// One command with its settings, as the command line asked for it.
pub enum Settings {
    Build(BuildSettings),
    Exec(ExecSettings),
    Lock(LockSettings),
    Node(NodeSettings),
    Connection(ConnectionSettings),
    PluginList(PluginListSettings),
    PluginInstall(PluginInstallSettings),
    PluginRemove(PluginRemoveSettings),
    PluginInfo(PluginInfoSettings),
    PluginPush(PluginPushSettings),
    PluginNew(PluginNewSettings),
    PluginBuild(PluginBuildSettings),
    PluginUpdate(PluginUpdateSettings),
    PluginOutdated(PluginOutdatedSettings),
    PluginMirror(PluginMirrorSettings),
    PluginSign(PluginSignSettings),
    PluginVerify(PluginVerifySettings),
    PluginTrust(PluginTrustSettings),
    ConfigCheck(ConfigCheckSettings),
    Trust(TrustSettings),
    Init(InitSettings),
    /// Boxed: clap's description of the command line is large.
    Completions(Box<CompletionsSettings>),
}

impl Settings {
    /// The file a command that reads only part of it checks whole first.
    pub fn validated_file(&self) -> Option<&std::path::Path> {
        match self {
            Settings::Exec(s) => Some(&s.config_file),
            Settings::Lock(s) => Some(&s.config_file),
            Settings::Node(s) => Some(&s.config_file),
            _ => None,
        }
    }

    /// Whether the command runs the project's local hooks: `ops build`
    /// without `--no-hooks` or `--dry-run`. Only then do the hooks need
    /// the file's trust.
    pub fn runs_hooks(&self) -> bool {
        matches!(self, Settings::Build(s) if s.hooks && !s.dry_run)
    }

    /// The config file a trust gate stands before, for the commands that
    /// read ops.toml and could send something.
    pub fn gated_file(&self) -> Option<&std::path::Path> {
        match self {
            Settings::Build(s) => Some(&s.config_file),
            Settings::Exec(s) => Some(&s.config_file),
            Settings::Lock(s) => Some(&s.config_file),
            Settings::Node(s) => Some(&s.config_file),
            Settings::PluginUpdate(s) => Some(&s.config_file),
            Settings::PluginOutdated(s) => Some(&s.config_file),
            Settings::ConfigCheck(s) => Some(&s.config_file),
            _ => None,
        }
    }
}

/// The settings of the command `command` names.
pub fn from_command(command: Command) -> Settings {
    match command {
        Command::Build(args) => Settings::Build(build(args)),
        Command::Exec(args) => Settings::Exec(exec(args)),
        Command::Lock(command) => Settings::Lock(lock(command)),
        Command::Node(command) => Settings::Node(node(command)),
        Command::Connection(command) => Settings::Connection(match command {
            ConnectionCommand::Status => ConnectionSettings::Status,
            ConnectionCommand::Stop { dest } => ConnectionSettings::Stop { dest },
        }),
        Command::Plugin(command) => plugin(command),
        Command::Config(ConfigCommand::Check { config }) => {
            Settings::ConfigCheck(ConfigCheckSettings {
                config_file: config.file,
            })
        }
        Command::Trust(args) => Settings::Trust(trust(args)),
        Command::Init { config } => Settings::Init(InitSettings {
            dir: ".".into(),
            config_file: config.file,
        }),
        Command::Completions { shell } => Settings::Completions(Box::new(CompletionsSettings {
            shell,
            command: <super::args::Cli as clap::CommandFactory>::command(),
        })),
    }
}

fn plugin(command: PluginCommand) -> Settings {
    match command {
        PluginCommand::List { config } => Settings::PluginList(PluginListSettings {
            config_file: config.file,
        }),
        PluginCommand::Install { source, sha256 } => {
            Settings::PluginInstall(PluginInstallSettings { source, sha256 })
        }
        PluginCommand::Remove { name } => Settings::PluginRemove(PluginRemoveSettings { name }),
        PluginCommand::Info { name, config } => Settings::PluginInfo(PluginInfoSettings {
            name,
            config_file: config.file,
        }),
        PluginCommand::Push {
            wasm,
            reference,
            force,
        } => Settings::PluginPush(PluginPushSettings {
            wasm,
            reference,
            force,
        }),
        PluginCommand::New { name, kind, path } => Settings::PluginNew(PluginNewSettings {
            name,
            kind: new_kind(kind),
            path,
        }),
        PluginCommand::Build { dir } => Settings::PluginBuild(PluginBuildSettings { dir }),
        PluginCommand::Update {
            name,
            accept_signer,
            precise,
            config,
        } => Settings::PluginUpdate(PluginUpdateSettings {
            config_file: config.file,
            name,
            accept_signer,
            precise,
        }),
        PluginCommand::Mirror { target, config } => Settings::PluginMirror(PluginMirrorSettings {
            config_file: config.file,
            target,
        }),
        PluginCommand::Outdated { config } => Settings::PluginOutdated(PluginOutdatedSettings {
            config_file: config.file,
        }),
        PluginCommand::Sign { wasm, key } => Settings::PluginSign(PluginSignSettings { wasm, key }),
        PluginCommand::Verify {
            wasm,
            signature,
            signed_by,
        } => Settings::PluginVerify(PluginVerifySettings {
            wasm,
            signature,
            signed_by,
        }),
        PluginCommand::Trust(command) => Settings::PluginTrust(match command {
            TrustCommand::Add { principal, key } => PluginTrustSettings::Add { principal, key },
            TrustCommand::List => PluginTrustSettings::List,
            TrustCommand::Remove { what } => PluginTrustSettings::Remove { what },
        }),
    }
}

fn new_kind(kind: NewKindArg) -> NewKind {
    match kind {
        NewKindArg::Sync => NewKind::Sync,
        NewKindArg::RegistryAuth => NewKind::RegistryAuth,
        NewKindArg::ImageBuilder => NewKind::ImageBuilder,
    }
}

fn reach(args: &NodeArgs) -> ReachSettings {
    ReachSettings {
        accept_new_host_key: args.accept_new_host_key,
        home: None,
    }
}

pub fn build(args: BuildArgs) -> BuildSettings {
    BuildSettings {
        reach: reach(&args.node),
        git_ref: args.git_ref,
        service: args.service,
        tag: args.tag,
        push: !args.no_push,
        jobs: args.jobs,
        dry_run: args.dry_run,
        locked: args.locked,
        lock_wait: args.lock_wait.into(),
        hooks: !args.no_hooks,
        artifacts_dir: args.artifacts_dir,
        ..BuildSettings::defaults(args.node.config.file)
    }
}

pub fn exec(args: ExecArgs) -> ExecSettings {
    ExecSettings {
        reach: reach(&args.node),
        config_file: args.node.config.file,
        command: args.command,
        tty: match args.tty {
            0 => Tty::Auto,
            1 => Tty::Asked,
            _ => Tty::Forced,
        },
    }
}

pub fn trust(args: TrustArgs) -> TrustSettings {
    TrustSettings {
        config_file: args.config.file,
        revoke: args.revoke,
    }
}

pub fn lock(command: LockCommand) -> LockSettings {
    let (node, action) = match command {
        LockCommand::Status { node } => (node, LockAction::Status),
        LockCommand::Release { node, force } => (node, LockAction::Release { force }),
    };
    LockSettings {
        reach: reach(&node),
        config_file: node.config.file,
        action,
    }
}

pub fn node(command: NodeCommand) -> NodeSettings {
    let (node, action) = match command {
        NodeCommand::Prune {
            node,
            keep,
            cache,
            dry_run,
        } => (
            node,
            NodeAction::Prune {
                // clap's range keeps it within 1..=10 000.
                keep: keep.map(|k| k as usize),
                cache,
                dry_run,
            },
        ),
        NodeCommand::Df { node } => (node, NodeAction::Df),
    };
    NodeSettings {
        reach: reach(&node),
        config_file: node.config.file,
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
        let defaults = BuildSettings::defaults("ops.toml");
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
