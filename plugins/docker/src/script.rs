//! The shell scripts that run one image build and its push on the node.
//!
//! Which builder the node has (buildx, the client's built-in BuildKit, or
//! only the legacy builder) is found out by the build script itself, so the
//! choice costs no round trip of its own. The build script also writes the
//! push command that fits the builder it picked; the push step runs it.

use ops_plugin_sdk::sh_quote;

use crate::options::Options;

/// Exit code of a build refused before it started (a key the builder
/// cannot honour).
const REFUSED: u8 = 64;

/// The inputs of one build.
pub struct Build<'a> {
    /// Scratch directory for secret files, metadata and the push command.
    pub scratch: &'a str,
    pub context: &'a str,
    pub dockerfile: &'a str,
    pub image: &'a str,
    /// `binary_arg` and the like, from the host.
    pub build_args: &'a [(String, String)],
    /// The host's `ops.*` labels, which `list-images` finds the image by.
    pub labels: &'a [(String, String)],
    pub options: &'a Options,
}

/// Environment variable that carries secret number `i` to the script.
pub fn secret_env(i: usize) -> String {
    format!("OPS_BUILD_SECRET_{i}")
}

/// The file in `scratch` that holds the push command for `image`.
pub fn push_file(scratch: &str, image: &str) -> String {
    format!("{scratch}/push-{}", file_key(image))
}

/// The push step: the command the build wrote, else a plain `docker push`.
pub fn push_script(scratch: &str, image: &str) -> String {
    let file = sh_quote(&push_file(scratch, image));
    format!(
        "if [ -f {file} ]; then exec sh {file}; fi\nexec docker push {}\n",
        sh_quote(image)
    )
}

/// The start of every script: the scratch directory, and the node's own
/// builders, contexts and CLI plugins within reach. DOCKER_CONFIG is the
/// run's throwaway directory (for the login), so they must be linked in.
fn prologue(scratch: &str) -> String {
    let mut out = String::from("set -e\numask 077\n");
    out += &format!("S={}\nmkdir -p \"$S\"\n", sh_quote(scratch));
    out += "for d in buildx contexts cli-plugins; do\n\
            \tif [ -e \"$HOME/.docker/$d\" ] && [ ! -e \"$DOCKER_CONFIG/$d\" ]; then ln -s \"$HOME/.docker/$d\" \"$DOCKER_CONFIG/$d\" 2>/dev/null || true; fi\n\
            done\n";
    out
}

/// Defines `probe`, which finds out what the builder is, and `B`, the file
/// in the scratch directory that keeps its answer for the rest of the run:
/// `ok DRIVER`, `err` and buildx's message, or `none` (no buildx). One
/// `docker buildx inspect` costs about 0.1 s of node CPU, so a run asks it
/// once (during the login, when pushing) rather than once per image.
fn probe(o: &Options) -> String {
    let builder = builder_flag(o);
    // The name only keys the file; none given means buildx's current builder.
    let name = o.builder.as_deref().unwrap_or("default");
    let mut out = format!("B=\"$S\"/builder-{}\n", file_key(name));
    out += "probe() {\n";
    // One call finds both whether buildx runs and the builder's driver;
    // only when it fails does a second one tell the two apart.
    out += &format!("\tif found=$(docker buildx inspect {builder} 2>&1); then\n");
    out += "\t\tprintf 'ok %s\\n' \"$(printf '%s\\n' \"$found\" | sed -n 's/^Driver: *//p' | head -n 1)\"\n";
    out += "\telif docker buildx version >/dev/null 2>&1; then\n";
    out += "\t\tprintf 'err\\n%s\\n' \"$found\"\n";
    out += "\telse\n\t\techo none\n\tfi\n}\n";
    // Written through a temporary name: parallel builds share the file.
    out += "probe_once() {\n\tif [ ! -f \"$B\" ]; then\n\t\tprobe >\"$B.$$\"\n\t\tmv -f \"$B.$$\" \"$B\"\n\tfi\n}\n";
    out
}

/// The login: `docker login` with the secret on stdin, and beside it the
/// builder probe the builds will read. Username and registry come as `$1`
/// and `$2`.
pub fn login_script(scratch: &str, o: &Options) -> String {
    let mut out = prologue(scratch);
    out += &probe(o);
    // The probe never fails the login; a build that finds no answer asks
    // again itself.
    out += "(probe_once) </dev/null >/dev/null 2>&1 &\n";
    out += "if docker login --username \"$1\" --password-stdin \"$2\"; then status=0; else status=$?; fi\n";
    out += "wait\nexit \"$status\"\n";
    out
}

pub fn build_script(b: &Build) -> String {
    let o = b.options;
    let key = file_key(b.image);
    let push = format!("\"$S\"/push-{key}");
    let common = join(&common_args(b));
    let buildkit = join(&buildkit_args(b));
    let builder = builder_flag(o);
    let mut out = prologue(b.scratch);
    for (i, (id, _)) in o.secrets.iter().enumerate() {
        // Written through a temporary name: parallel builds share the file.
        out += &format!(
            "printf '%s' \"${env}\" >\"$S/secret-{id}.$$\" && mv -f \"$S/secret-{id}.$$\" \"$S/secret-{id}\"\n",
            env = secret_env(i)
        );
    }
    out += &probe(o);
    out += "probe_once\n";
    out += "case \"$(head -n 1 \"$B\")\" in\n";
    out += "'ok docker')\n";
    if !o.platforms.is_empty() {
        out += &refuse(&format!(
            "error: platforms = [{}] needs a buildx builder that can build for other platforms, but builder \"{}\" uses the docker driver (it builds for the node's own platform only). Create one on the node, e.g. docker buildx create --name multi --driver docker-container, and set builder = \"multi\" in [build.image].",
            o.platforms.join(", "),
            o.builder.as_deref().unwrap_or("default"),
        ));
    }
    // The docker driver builds into the engine (of the builder's context),
    // and the push step pushes from there: nothing leaves the node before
    // every image is built.
    let context_flag = o
        .builder
        .as_deref()
        .map(|n| format!("--context {} ", sh_quote(n)))
        .unwrap_or_default();
    let docker_push = format!("docker {context_flag}push {}", sh_quote(b.image));
    out += &format!("\tprintf '%s\\n' {} >{push}\n", sh_quote(&docker_push));
    // buildx reaches a docker-driver builder only through its context.
    out += &format!("\texec docker {context_flag}buildx build --load {buildkit} {common}\n");
    out += "\t;;\nok*)\n";
    // Other drivers keep the result in the builder's cache; the push step
    // repeats the build with --push, a cache hit, and reads the pushed
    // manifest's digest from the metadata BuildKit writes.
    let push_pass = format!(
        "set -e\ncd {ctx}\ndocker buildx build {builder} --push --metadata-file {m} {buildkit} {common}\nsed -n 's/.*\"containerimage.digest\": *\"\\(sha256:[0-9a-f]*\\)\".*/digest: \\1/p' {m}\n",
        ctx = sh_quote(b.context),
        m = sh_quote(&format!("{}/meta-{key}.json", b.scratch)),
    );
    out += &format!("\tprintf '%s' {} >{push}\n", sh_quote(&push_pass));
    out += &format!("\texec docker buildx build {builder} {buildkit} {common}\n");
    out += "\t;;\nerr)\n";
    out += "\ttail -n +2 \"$B\" >&2\n";
    out += &format!("\texit {REFUSED}\n");
    out += "\t;;\nesac\n";
    if let Some(key) = o.needs_buildx() {
        out += &refuse(&format!(
            "error: `{key}` in [build.image] needs docker buildx, which the build node lacks. Install it there (Docker 23 and later ship it; Debian: the docker-buildx package) or remove `{key}`."
        ));
    }
    // Clients before 23 carry BuildKit themselves (secrets included);
    // later ones need buildx.
    let secrets = join(&secret_args(b));
    out += "case \"$(docker version --format '{{.Client.Version}}' 2>/dev/null)\" in\n";
    out += &format!(
        "1[89].*|2[012].*) DOCKER_BUILDKIT=1 exec docker build {secrets} {common} ;;\nesac\n"
    );
    if !o.secrets.is_empty() {
        out += &refuse("error: `secrets` in [build.image] needs BuildKit, but the build node has no docker buildx and its docker client has no BuildKit of its own. Install docker buildx there (Docker 23 and later ship it; Debian: the docker-buildx package) or remove `secrets`.");
    }
    out += "if mkdir \"$S/legacy-warned\" 2>/dev/null; then\n";
    out += "\techo 'warning: no BuildKit on the build node (no docker buildx): building with the legacy builder, which is deprecated and fails on RUN --mount. Install docker buildx on the node (Docker 23 and later ship it; Debian: the docker-buildx package) to build with BuildKit.' >&2\n";
    out += "fi\n";
    out += &format!("DOCKER_BUILDKIT=0 exec docker build {common}\n");
    out
}

fn builder_flag(o: &Options) -> String {
    o.builder
        .as_deref()
        .map(|n| format!("--builder {}", sh_quote(n)))
        .unwrap_or_default()
}

fn refuse(message: &str) -> String {
    format!("echo {} >&2\nexit {REFUSED}\n", sh_quote(message))
}

/// Arguments every builder understands; the context comes last.
fn common_args(b: &Build) -> Vec<String> {
    let mut args = vec!["-f".to_owned(), b.dockerfile.to_owned()];
    let config_args = b.options.build_args.iter();
    // The host's (binary_arg) come last so that they win.
    for (k, v) in config_args.chain(b.build_args.iter()) {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    if let Some(target) = &b.options.target {
        args.push("--target".into());
        args.push(target.clone());
    }
    // After the Dockerfile's own LABELs, so that these win.
    for (k, v) in b.labels {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    args.push("-t".into());
    args.push(b.image.to_owned());
    args.push(b.context.to_owned());
    args
}

/// Arguments only BuildKit understands.
fn buildkit_args(b: &Build) -> Vec<String> {
    let o = b.options;
    let mut args = Vec::new();
    if !o.platforms.is_empty() {
        args.push("--platform".into());
        args.push(o.platforms.join(","));
    }
    for c in &o.cache_from {
        args.push("--cache-from".into());
        args.push(c.clone());
    }
    for c in &o.cache_to {
        args.push("--cache-to".into());
        args.push(c.clone());
    }
    args.extend(secret_args(b));
    args
}

/// `--secret id=ID,src=FILE` for each secret: by file, never by value.
fn secret_args(b: &Build) -> Vec<String> {
    let mut args = Vec::new();
    for (id, _) in &b.options.secrets {
        args.push("--secret".into());
        args.push(format!("id={id},src={}/secret-{id}", b.scratch));
    }
    args
}

fn join(args: &[String]) -> String {
    args.iter()
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A file name for `image`: its reference with every other character as `_`.
fn file_key(image: &str) -> String {
    image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGS: &[(String, String)] = &[];

    fn sample(options: &Options) -> Build<'_> {
        Build {
            scratch: "/tmp/s",
            context: "/opt/p",
            dockerfile: "Dockerfile",
            image: "127.0.0.1:5000/p/api:v1",
            build_args: ARGS,
            labels: ARGS,
            options,
        }
    }

    fn build(options: &Options) -> String {
        let args = vec![("SERVICE_BINARY".to_owned(), "api".to_owned())];
        build_script(&Build {
            build_args: &args,
            ..sample(options)
        })
    }

    #[test]
    fn secrets_reach_buildkit_by_file_and_env_only() {
        let options = Options {
            secrets: vec![("NPM_TOKEN".into(), "hunter2".into())],
            ..Options::default()
        };
        let script = build(&options);
        assert!(!script.contains("hunter2"));
        assert!(script.contains("--secret 'id=NPM_TOKEN,src=/tmp/s/secret-NPM_TOKEN'"));
        assert!(script.contains("\"$OPS_BUILD_SECRET_0\""));
        assert!(script.contains("needs BuildKit"));
    }

    #[test]
    fn platforms_are_refused_on_the_docker_driver() {
        let options = Options {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..Options::default()
        };
        assert!(build(&options).contains("uses the docker driver"));
        assert!(!build(&Options::default()).contains("uses the docker driver"));
    }

    #[test]
    fn host_build_args_come_after_the_config_ones() {
        let options = Options {
            build_args: vec![("MODE".into(), "release".into())],
            target: Some("runtime".into()),
            ..Options::default()
        };
        let script = build(&options);
        let mode = script.find("MODE=release").expect("config arg");
        let service = script.find("SERVICE_BINARY=api").expect("host arg");
        assert!(mode < service);
        assert!(script.contains("--target runtime"));
    }

    #[test]
    fn the_hosts_labels_go_on_every_builder_quoted() {
        let labels = vec![("ops.project".to_owned(), "my app; rm -rf /".to_owned())];
        let script = build_script(&Build {
            labels: &labels,
            ..sample(&Options::default())
        });
        // Every way to build (and the push pass) carries it, as one word.
        assert_eq!(
            script
                .matches("--label 'ops.project=my app; rm -rf /'")
                .count(),
            5
        );
    }

    #[test]
    fn login_and_builds_share_one_builder_probe() {
        let options = Options {
            builder: Some("multi".into()),
            ..Options::default()
        };
        let login = login_script("/tmp/s", &options);
        let build = build(&options);
        let file = "B=\"$S\"/builder-multi\n";
        assert!(login.contains(file) && build.contains(file));
        assert!(login.contains("docker buildx inspect --builder multi"));
        // The login's answer does not decide the login.
        assert!(login.contains("(probe_once) </dev/null >/dev/null 2>&1 &"));
        assert!(login.contains("--password-stdin \"$2\""));
        let other = build_script(&Build {
            options: &Options::default(),
            ..sample(&options)
        });
        assert!(other.contains("B=\"$S\"/builder-default\n"));
    }

    #[test]
    fn push_runs_what_the_build_chose() {
        assert_eq!(
            push_script("/tmp/s", "r:5000/p/api:v1"),
            "if [ -f /tmp/s/push-r_5000_p_api_v1 ]; then exec sh /tmp/s/push-r_5000_p_api_v1; fi\nexec docker push r:5000/p/api:v1\n"
        );
    }
}
