//! `docker`: the image builder. Builds on the node with BuildKit (`docker
//! buildx build`, else the client's built-in BuildKit, else the legacy
//! builder with a warning) and pushes, all with `DOCKER_CONFIG` pointing at
//! a scratch directory that the host removes when the run ends, so that a
//! registry login never outlives the run.

// The SDK's bindings under the names the modules of this crate use.
use ops_plugin_sdk::bindings::{exports, ops};

mod config;
mod digest;
mod fault;
mod housekeeping;
mod options;
mod progress;
mod script;

use exports::ops::plugin::image::{
    BuildRequest, PushOutcome, PushRequest, StorageUsage, StoredImage,
};
use ops::plugin::node;
use ops::plugin::types::{
    Capability, Config, ConfigError, Credentials, ExecOutput, ExecRequest, ExitStatus,
};
use ops_plugin_sdk::Error;

struct Docker;

/// The same name gives the same directory for the whole run, so login,
/// builds and pushes share one throwaway Docker config.
const CONFIG_DIR: &str = "docker-config";
/// Secret files, build metadata and the push command each build chose: a
/// folder of the config directory, made by the build script itself, so that
/// a build waits on no extra round trip for it.
const BUILD_SUBDIR: &str = "ops-build";

impl ops_plugin_sdk::Plugin for Docker {
    fn describe() -> ops_plugin_sdk::Description {
        ops_plugin_sdk::Description {
            name: "docker",
            version: env!("CARGO_PKG_VERSION"),
            description: "docker buildx build (BuildKit) and push on the build node",
            capabilities: vec![Capability::RemoteExec, Capability::RemoteFiles],
        }
    }

    fn validate(config: Config) -> Result<(), Vec<ConfigError>> {
        config::validate(&config)
    }
}

impl ops_plugin_sdk::ImageBuilder for Docker {
    fn login(config: Config, credentials: Credentials) -> Result<(), Error> {
        let dir = node::scratch_dir(CONFIG_DIR)?;
        let options = parse_options(&config)?;
        let out = node::exec(&ExecRequest {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                script::login_script(&format!("{dir}/{BUILD_SUBDIR}"), &options),
                "ops-docker-login".into(),
                credentials.username.clone(),
                credentials.registry.clone(),
            ],
            env: docker_env(&dir),
            cwd: None,
            // The secret reaches `docker login` on stdin, never on a command line.
            stdin: Some(credentials.secret.into_bytes()),
            label: None,
            progress: Vec::new(),
        })?;
        check(&out, &format!("docker login to {}", credentials.registry))
    }

    fn build(request: BuildRequest) -> Result<(), Error> {
        let dir = node::scratch_dir(CONFIG_DIR)?;
        let scratch = format!("{dir}/{BUILD_SUBDIR}");
        let options = parse_options(&request.config)?;
        let script = script::build_script(&script::Build {
            scratch: &scratch,
            context: &request.context,
            dockerfile: &request.dockerfile,
            image: &request.image,
            build_args: &request.build_args,
            labels: &request.labels,
            options: &options,
        });
        let mut env = docker_env(&dir);
        // Secret values travel in the environment, never on a command line.
        for (i, (_, value)) in options.secrets.iter().enumerate() {
            env.push((script::secret_env(i), value.clone()));
        }
        let out = node::exec(&ExecRequest {
            program: "sh".into(),
            args: vec!["-c".into(), script, "ops-docker-build".into()],
            env,
            // `-f` is relative to the working directory, which is the context.
            cwd: Some(request.context.clone()),
            stdin: None,
            label: Some(request.label.clone()),
            progress: progress::patterns(),
        })?;
        check(&out, &format!("docker build of {}", request.image))
    }

    fn push(request: PushRequest) -> Result<PushOutcome, Error> {
        let dir = node::scratch_dir(CONFIG_DIR)?;
        let out = node::exec(&ExecRequest {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                script::push_script(&format!("{dir}/{BUILD_SUBDIR}"), &request.image),
                "ops-docker-push".into(),
            ],
            env: docker_env(&dir),
            cwd: None,
            stdin: None,
            label: Some(request.label.clone()),
            progress: progress::patterns(),
        })?;
        check(&out, &format!("docker push of {}", request.image))?;
        if let Some(digest) = digest::from_push_output(&String::from_utf8_lossy(&out.stdout)) {
            return Ok(PushOutcome {
                digest,
                platforms: Vec::new(),
            });
        }
        // Older clients or quiet output: ask the engine for the repo digest.
        let inspect = node::exec(&ExecRequest {
            program: "docker".into(),
            args: vec![
                "image".into(),
                "inspect".into(),
                "--format".into(),
                "{{json .RepoDigests}}".into(),
                request.image.clone(),
            ],
            env: docker_env(&dir),
            cwd: None,
            stdin: None,
            label: None,
            progress: Vec::new(),
        })?;
        check(
            &inspect,
            &format!("docker image inspect of {}", request.image),
        )?;
        digest::from_repo_digests(&String::from_utf8_lossy(&inspect.stdout), &request.image)
            .map(|digest| PushOutcome {
                digest,
                platforms: Vec::new(),
            })
            .ok_or_else(|| {
                Error::Failed(format!(
                    "docker push of {} reported no digest",
                    request.image
                ))
            })
    }

    fn list_images(_config: Config, project: String) -> Result<Vec<StoredImage>, Error> {
        housekeeping::list_images(&project)
    }

    fn remove_images(_config: Config, names: Vec<String>, ids: Vec<String>) -> Result<(), Error> {
        housekeeping::remove_images(names, ids)
    }

    fn storage(config: Config) -> Result<StorageUsage, Error> {
        housekeeping::storage(&parse_options(&config)?)
    }

    fn prune_cache(config: Config, keep_bytes: u64) -> Result<u64, Error> {
        housekeeping::prune_cache(&parse_options(&config)?, keep_bytes)
    }
}

fn parse_options(config: &Config) -> Result<options::Options, Error> {
    options::parse(config).map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        Error::Failed(messages.join("; "))
    })
}

fn docker_env(config_dir: &str) -> Vec<(String, String)> {
    vec![("DOCKER_CONFIG".into(), config_dir.into())]
}

/// A failed docker command as its typed error ([`fault::classify`]), with
/// the end of its stderr as the words.
pub(crate) fn check(out: &ExecOutput, what: &str) -> Result<(), Error> {
    let (status, code) = match &out.status {
        ExitStatus::Code(0) => return Ok(()),
        ExitStatus::Code(c) => (format!("exit code {c}"), Some(*c)),
        ExitStatus::Signal(s) => (format!("signal SIG{s}"), None),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &tail[tail.len().saturating_sub(5)..];
    let message = if tail.is_empty() {
        format!("{what} failed ({status})")
    } else {
        format!("{what} failed ({status}): {}", tail.join(" | "))
    };
    Err(fault::classify(message, &stderr, code))
}

ops_plugin_sdk::export_image_builder!(Docker);
