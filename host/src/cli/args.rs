//! Command-line definitions only; what each command does lives elsewhere.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::{ByteSize, GitRef, Tag};
use crate::pipeline::{DEFAULT_JOBS, DEFAULT_LOCK_WAIT, DEFAULT_TAG};

pub use super::plugin_args::{NewKindArg, PluginCommand, TrustCommand};

#[derive(Debug, Parser)]
#[command(
    name = "ops",
    version,
    about = "Remote builds on a persistent build node",
    long_about = "Connects to a build node over SSH, syncs the code, runs the build \
                  command, builds one Docker image per service in parallel and pushes \
                  them to a registry.",
    after_help = crate::cli::EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More output: plugin debug logs and the commands ops runs
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Less output: errors and the final summary only
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Output format; `json` prints one JSON event per line on stdout
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,

    /// Colour: `auto` follows the terminal, NO_COLOR and CLICOLOR_FORCE
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Remote build on the build node: sync, build command, images, push
    Build(BuildArgs),
    /// Run a command on the build node
    Exec(ExecArgs),
    /// Install, inspect and publish plugins
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Show or release the build lock of `build.path` on the node
    #[command(subcommand)]
    Lock(LockCommand),
    /// Disk hygiene on the build node: prune old images, cache and scratch; show usage
    #[command(subcommand)]
    Node(NodeCommand),
    /// Show or close the connections kept between runs (OPS_PERSIST)
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Check ops.toml
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Trust ops.toml to send your local files and secrets where it says
    #[command(long_about = TRUST_HELP)]
    Trust(TrustArgs),
    /// Write a commented ops.toml for the project in this directory
    Init {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `-f FILE`: the ops.toml a command reads (or `ops init` writes).
#[derive(Debug, Clone, Args)]
pub struct ConfigFile {
    /// Path to config file
    #[arg(
        short = 'f',
        long = "file",
        default_value = "ops.toml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
}

/// Options shared by every command that reaches the build node.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// Trust and remember the node's host key if it is not known yet (like
    /// OpenSSH's StrictHostKeyChecking=accept-new). A changed key is still
    /// refused.
    #[arg(long)]
    pub accept_new_host_key: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// Git ref to build (commit SHA, branch, or tag)
    #[arg(long = "ref", value_name = "REF", value_parser = parse_ref)]
    pub git_ref: Option<GitRef>,

    /// Only build a specific service image
    #[arg(short, long, value_name = "SERVICE")]
    pub service: Option<String>,

    /// Docker image tag
    #[arg(short, long, default_value = DEFAULT_TAG, value_parser = parse_tag)]
    pub tag: Tag,

    /// Skip pushing images to registry
    #[arg(long)]
    pub no_push: bool,

    /// Number of parallel image builds
    #[arg(short, long, default_value_t = DEFAULT_JOBS, value_name = "N")]
    pub jobs: usize,

    /// Print the plan and exit without touching anything
    #[arg(long)]
    pub dry_run: bool,

    /// Refuse to run if ops.lock would change (a missing file or entry, or
    /// a plugin whose digest differs); for CI
    #[arg(long)]
    pub locked: bool,

    /// How long to wait for another build of the same path on the node
    /// (e.g. 30s, 10m, 0 for not at all)
    #[arg(long, value_name = "DURATION", default_value_t = DEFAULT_LOCK_WAIT.into())]
    pub lock_wait: humantime::Duration,

    /// Run none of the project's [hooks] (local commands; also lets an
    /// untrusted file with hooks build)
    #[arg(long)]
    pub no_hooks: bool,

    /// Where the files named by build.artifacts are written (default:
    /// ops-artifacts/ beside ops.toml)
    #[arg(long, value_name = "DIR")]
    pub artifacts_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// Run in a terminal on the node (for a shell, htop, ...): keys,
    /// Ctrl-C included, go to the remote program. The default without a
    /// command when stdin and stdout are terminals. Stdin must be a
    /// terminal; -tt asks for one on the node anyway
    #[arg(short = 't', long = "tty", action = clap::ArgAction::Count)]
    pub tty: u8,

    /// The program and its arguments, each passed literally; none: the
    /// login shell on the node, in build.path
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Who holds the build lock, if anyone
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Release a lock whose holder is gone; refused while the holder runs
    Release {
        #[command(flatten)]
        node: NodeArgs,
        /// Stop the process holding the lock on the node, then release it
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Remove this project's images except the newest builds' (only images
    /// ops built for it, found by their labels), build cache above a size,
    /// and scratch directories of runs that are over
    Prune {
        #[command(flatten)]
        node: NodeArgs,
        /// Builds whose images stay (default: [node] keep, else 5)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
        keep: Option<u64>,
        /// Prune the image builder's build cache down to SIZE, e.g. 20GB
        /// (default: [node] cache, else the cache is left alone)
        #[arg(long, value_name = "SIZE")]
        cache: Option<ByteSize>,
        /// Say what would be removed, and remove nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// What build.path, this project's images and the build cache take on
    /// the node, and the free space
    Df {
        #[command(flatten)]
        node: NodeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Each kept connection: destination, age, idle time, runs served
    Status,
    /// Close the kept connections to DEST (`user@host:port` or a host
    /// name), or all of them
    Stop {
        #[arg(value_name = "DEST")]
        dest: Option<String>,
    },
}

const TRUST_HELP: &str = "\
A project file needs your trust before ops lets it send a local file from \
outside the project (a key under ~/.ssh), send secrets ($NAME values, keys, \
the forwarded agent) to a node that only its own host_key pin vouches for, \
send your API token to an [api] url only it names, or grant a third-party \
plugin local-exec, local-read, env or http. Until then, build, exec, lock, \
config check and plugin update refuse it with exit 2 before contacting \
anything, listing each such line. This command shows those lines and records \
trust for them (in ~/.local/share/ops/trust); a change to them asks again, \
other edits do not. At a terminal ops may ask instead; OPS_TRUST=1 trusts \
every file, for CI and scripts.";

#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    #[command(flatten)]
    pub config: ConfigFile,

    /// Forget the trust given to FILE
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate everything `ops build --dry-run` does, touching nothing
    Check {
        #[command(flatten)]
        config: ConfigFile,
    },
}

/// `--ref`, parsed once here: the pipeline gets a [`GitRef`].
fn parse_ref(text: &str) -> Result<GitRef, String> {
    text.parse()
        .map_err(|e: crate::domain::GitRefError| e.to_string())
}

/// `--tag`, parsed once here: the pipeline gets a [`Tag`].
fn parse_tag(text: &str) -> Result<Tag, String> {
    text.parse().map_err(|_| {
        format!(
            "{text:?} is not a valid Docker tag (up to 128 letters, digits, '_', '.' and '-', not \
             starting with '.' or '-')"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn spec_examples_parse() {
        for line in [
            "ops build",
            "ops build --ref v1.2.0",
            "ops build --service api",
            "ops build --tag abc123 --no-push",
            "ops build -j 3",
            "ops build -f ops.prod.toml",
            "ops lock status",
            "ops lock release --force -f ops.prod.toml",
            "ops plugin new acme-sync --kind sync",
            "ops plugin new acme-auth --kind registry-auth --path plugins/auth",
            "ops plugin new acme-image --kind image-builder",
            "ops plugin build",
            "ops plugin build acme-sync",
        ] {
            let argv: Vec<&str> = line.split(' ').collect();
            Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }

    #[test]
    fn a_bad_tag_is_refused_when_the_command_line_is_read() {
        for tag in ["a;b", "-x", ".x", "", &"a".repeat(129)] {
            let arg = format!("--tag={tag}");
            let err = Cli::try_parse_from(["ops", "build", &arg]).unwrap_err();
            assert!(
                err.to_string().contains("not a valid Docker tag"),
                "{tag}: {err}"
            );
            assert_eq!(err.exit_code(), 2, "{tag}");
        }
        let cli = Cli::try_parse_from(["ops", "build", "--tag", "v1.2.0"]).unwrap();
        let Command::Build(args) = cli.command else {
            panic!("not build")
        };
        assert_eq!(args.tag.as_str(), "v1.2.0");
    }

    #[test]
    fn a_bad_ref_is_refused_when_the_command_line_is_read() {
        for git_ref in ["--upload-pack=x", "-x", "a..b", "a b"] {
            let arg = format!("--ref={git_ref}");
            let err = Cli::try_parse_from(["ops", "build", &arg]).unwrap_err();
            assert!(
                err.to_string().contains("not a valid git ref"),
                "{git_ref}: {err}"
            );
            assert_eq!(err.exit_code(), 2, "{git_ref}");
        }
    }

    #[test]
    fn exec_takes_everything_after_double_dash_literally() {
        let cli =
            Cli::try_parse_from(["ops", "exec", "--", "printf", "%s|", "-f", "$(id)"]).unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.command, vec!["printf", "%s|", "-f", "$(id)"]);
        assert_eq!(args.tty, 0);
    }

    #[test]
    fn exec_counts_t_and_needs_no_command() {
        let exec = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
            Command::Exec(args) => (args.tty, args.command),
            _ => panic!("not exec"),
        };
        assert_eq!(exec(&["ops", "exec"]), (0, vec![]));
        assert_eq!(exec(&["ops", "exec", "-t"]), (1, vec![]));
        let forced = exec(&["ops", "exec", "-tt", "--", "-t"]);
        assert_eq!(forced, (2, vec!["-t".to_owned()]));
        assert_eq!(exec(&["ops", "exec", "--tty", "--", "htop"]).0, 1);
    }
}
