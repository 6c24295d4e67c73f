//! `buildah`: the daemonless, rootless image builder. Builds on the node
//! with `buildah bud` as the node's login user (no daemon, no root) and
//! pushes with `buildah push`, or, for several platforms, builds one image
//! per platform into a manifest list and pushes it as one image index. The
//! registry login lives in an auth file in a scratch directory that the
//! host removes when the run ends, so it never outlives the run.

// The SDK's bindings under the names the modules of this crate use.
use ops_plugin_sdk::bindings::{exports, ops};

mod args;
mod config;
mod fault;
mod housekeeping;
mod options;
mod progress;

use args::Scratch;
use exports::ops::plugin::image::{
    BuildRequest, PushOutcome, PushRequest, StorageUsage, StoredImage,
};
use ops::plugin::node;
use ops::plugin::types::{
    Capability, Config, ConfigError, Credentials, ExecOutput, ExecRequest, ExitStatus,
};
use ops_plugin_sdk::Error;

struct Buildah;

/// The same name gives the same directory for the whole run, so login,
/// builds and pushes share one auth file.
const SCRATCH_DIR: &str = "buildah";

impl ops_plugin_sdk::Plugin for Buildah {
    fn describe() -> ops_plugin_sdk::Description {
        ops_plugin_sdk::Description {
            name: "buildah",
            version: env!("CARGO_PKG_VERSION"),
            description: "rootless buildah bud and push on the build node, no daemon",
            capabilities: vec![Capability::RemoteExec, Capability::RemoteFiles],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        config::validate(&config)
    }
}

impl ops_plugin_sdk::ImageBuilder for Buildah {
    fn login(config: Config, credentials: Credentials) -> Result<(), Error> {
        parse_options(&config)?;
        let dir = node::scratch_dir(SCRATCH_DIR)?;
        let scratch = Scratch { dir: &dir };
        let args = args::login(&scratch, &credentials.registry, &credentials.username);
        let out = buildah(
            &scratch,
            None,
            args,
            // The secret reaches `buildah login` on stdin, never on a command line.
            Some(credentials.secret.into_bytes()),
            None,
            None,
        )?;
        check(&out, &format!("buildah login to {}", credentials.registry))
    }

    fn build(request: BuildRequest) -> Result<(), Error> {
        let options = parse_options(&request.config)?;
        let dir = node::scratch_dir(SCRATCH_DIR)?;
        let scratch = Scratch { dir: &dir };
        for (id, value) in &options.secrets {
            // A 0600 file in the run's scratch directory: by file, never
            // by value on a command line or in a layer.
            node::write_file(&scratch.secret(id), value.as_bytes(), 0o600)?;
        }
        let build = args::Build {
            scratch: &scratch,
            context: &request.context,
            dockerfile: &request.dockerfile,
            image: &request.image,
            build_args: &request.build_args,
            labels: &request.labels,
            options: &options,
        };
        let what = format!("buildah build of {}", request.image);
        let label = Some(request.label.as_str());
        let cwd = Some(request.context.as_str());
        if options.platforms.is_empty() {
            let out = buildah(&scratch, None, args::bud(&build, None), None, label, cwd)?;
            return check(&out, &what);
        }
        for command in args::remove_previous(&request.image) {
            // Nothing there is the usual case, not a failure.
            buildah(&scratch, None, command, None, None, None)?;
        }
        for platform in &options.platforms {
            let out = buildah(
                &scratch,
                None,
                args::bud(&build, Some(platform)),
                None,
                label,
                cwd,
            )?;
            check(&out, &format!("{what} for {platform}"))?;
        }
        Ok(())
    }

    fn push(request: PushRequest) -> Result<PushOutcome, Error> {
        let options = parse_options(&request.config)?;
        let dir = node::scratch_dir(SCRATCH_DIR)?;
        let scratch = Scratch { dir: &dir };
        let list = !options.platforms.is_empty();
        let digest_file = scratch.digest(&request.image);
        let out = buildah(
            &scratch,
            Some(&digest_file),
            args::push(&scratch, &request.image, list),
            None,
            Some(&request.label),
            None,
        )?;
        check(&out, &format!("buildah push of {}", request.image))?;
        let digest =
            args::pushed_digest(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
                Error::Failed(format!(
                    "buildah push of {} wrote no digest to its --digestfile",
                    request.image
                ))
            })?;
        Ok(PushOutcome {
            digest,
            platforms: options.platforms,
        })
    }

    fn list_images(_config: Config, project: String) -> Result<Vec<StoredImage>, Error> {
        housekeeping::list_images(&project)
    }

    fn remove_images(_config: Config, names: Vec<String>, ids: Vec<String>) -> Result<(), Error> {
        housekeeping::remove_images(names, ids)
    }

    fn storage(_config: Config) -> Result<StorageUsage, Error> {
        housekeeping::storage()
    }

    fn prune_cache(_config: Config, keep_bytes: u64) -> Result<u64, Error> {
        housekeeping::prune_cache(keep_bytes)
    }
}

/// Runs `buildah COMMAND` on the node under [`args::WRAPPER`].
fn buildah(
    scratch: &Scratch,
    digest_file: Option<&str>,
    command: Vec<String>,
    stdin: Option<Vec<u8>>,
    label: Option<&str>,
    cwd: Option<&str>,
) -> Result<ExecOutput, Error> {
    node::exec(&ExecRequest {
        program: "sh".into(),
        args: args::wrapped(scratch, digest_file, command),
        env: Vec::new(),
        // `-f` is relative to the working directory, which is the context.
        cwd: cwd.map(str::to_owned),
        stdin,
        label: label.map(str::to_owned),
        progress: progress::patterns(),
    })
}

fn parse_options(config: &Config) -> Result<options::Options, Error> {
    options::parse(config).map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        Error::Failed(messages.join("; "))
    })
}

/// A failed buildah command as its typed error ([`fault::classify`]), with
/// the end of its stderr as the words.
pub(crate) fn check(out: &ExecOutput, what: &str) -> Result<(), Error> {
    let (status, code) = match &out.status {
        ExitStatus::Code(0) => return Ok(()),
        ExitStatus::Code(c) => (format!("exit code {c}"), Some(*c)),
        ExitStatus::Signal(s) => (format!("signal SIG{s}"), None),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail: Vec<String> = tail[tail.len().saturating_sub(4)..]
        .iter()
        .map(|l| line_end(l))
        .collect();
    let message = if tail.is_empty() {
        format!("{what} failed ({status})")
    } else {
        format!("{what} failed ({status}): {}", tail.join(" | "))
    };
    Err(fault::classify(message, &stderr, code))
}

/// At most this much of one line of buildah's stderr goes into a message.
const LINE_END: usize = 240;

/// The end of a long line: buildah's errors are chains (`doing x: doing y:
/// cause`) whose cause comes last, and some dump whole Go structs before it.
fn line_end(line: &str) -> String {
    if line.len() <= LINE_END {
        return line.to_owned();
    }
    let mut start = line.len() - LINE_END;
    while !line.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &line[start..])
}

ops_plugin_sdk::export_image_builder!(Buildah);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_keep_their_cause() {
        let long = format!(
            "copier.request{{{}}}: write /api: no space left on device",
            "x".repeat(500)
        );
        let end = line_end(&long);
        assert_eq!(end.len(), "…".len() + LINE_END);
        assert!(end.starts_with('…'));
        assert!(end.ends_with("write /api: no space left on device"));
        assert_eq!(line_end("short"), "short");
        assert_eq!(line_end(&"é".repeat(200)).chars().count(), 121);
    }
}
