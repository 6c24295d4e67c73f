use std::sync::Arc;

use ops::distribution::Registry;
use ops::exit::{Exit, ExitStatusOf};
use ops::plugin::{BuildRequest, Credentials, Limits, PushRequest, ValidationError};
use ops::remote::RemoteCommand;

use crate::recorder::{Call, Recorder, Reply, SCRATCH};
use crate::support::{context, image_section, runtime};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const IMAGE_TOML: &str = "[build]\npath = \"/opt/b/p\"\ncommand = \"make\"\n\n[build.image]\n\
dockerfile = \"Dockerfile.prod\"\nregistry = \"127.0.0.1:5000\"\ntoken = \"$REG_TOKEN\"\n\
username = \"ci\"\nprefix = \"127.0.0.1:5000/org/p\"\nbinary_arg = \"SERVICE_BINARY\"\n\
services = [\"api\", \"worker\"]\n";

const TOKEN: &str = "registry-t0ken-value";

fn docker_config() -> (String, String) {
    (
        "DOCKER_CONFIG".into(),
        format!("{SCRATCH}/docker.docker-config"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_runs_docker_build_on_the_node() {
    let section = image_section(IMAGE_TOML, &[("REG_TOKEN", TOKEN)]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|_| {
        Reply::stdout("Step 1/3 : FROM scratch\nSuccessfully built 0123abcd\n")
    }));
    let ctx = context(&node);
    docker.validate(&ctx, &section).await.unwrap();
    docker
        .build(
            &ctx,
            BuildRequest {
                section: &section,
                context: "/opt/b/p".into(),
                dockerfile: "Dockerfile.prod".into(),
                image: "127.0.0.1:5000/org/p/api:v1".into(),
                build_args: vec![("SERVICE_BINARY".into(), "api".into())],
                label: "api".into(),
                labels: vec![("ops.project".into(), "p".into())],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        node.calls()[0],
        Call::Scratch("docker.docker-config".into())
    );
    let commands = node.commands();
    assert_eq!(commands.len(), 1);
    let cmd = &commands[0];
    // One sh script picks the builder on the node: no extra round trip.
    assert_eq!(cmd.program, "sh");
    assert_eq!(cmd.args[0], "-c");
    let script = &cmd.args[1];
    for needle in [
        "docker buildx build",
        "buildx build --load",
        "DOCKER_BUILDKIT=1 exec docker build",
        "DOCKER_BUILDKIT=0 exec docker build",
        // The host's labels, which pruning finds the image by, as one word each.
        "-f Dockerfile.prod --build-arg 'SERVICE_BINARY=api' --label 'ops.project=p' \
         -t 127.0.0.1:5000/org/p/api:v1 /opt/b/p",
    ] {
        assert!(script.contains(needle), "{needle:?} not in {script}");
    }
    assert_eq!(cmd.env, vec![docker_config()]);
    assert_eq!(cmd.cwd.as_deref(), Some("/opt/b/p"));
    assert_eq!(cmd.stdin, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_build_is_an_image_build_error_with_the_output_tail() {
    let section = image_section(IMAGE_TOML, &[("REG_TOKEN", TOKEN)]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|_| Reply {
        code: 1,
        stderr: b"unable to prepare context: Dockerfile.prod: no such file\n".to_vec(),
        ..Reply::default()
    }));
    let err = docker
        .build(
            &context(&node),
            BuildRequest {
                section: &section,
                context: "/opt/b/p".into(),
                dockerfile: "Dockerfile.prod".into(),
                image: "r/p/api:t".into(),
                build_args: vec![],
                label: "api".into(),
                labels: vec![("ops.project".into(), "p".into())],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "docker: failed to build the image: docker build of r/p/api:t failed (exit code 1): unable to prepare context: Dockerfile.prod: no such file"
    );
    assert_eq!(ExitStatusOf::exit(&err), Exit::ImageBuild);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_push_keep_the_token_off_argv_and_return_the_digest() {
    let section = image_section(IMAGE_TOML, &[("REG_TOKEN", TOKEN)]);
    let (rt, _cache) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let auth = registry.registry_auth("token-auth").await.unwrap();
    let docker = registry.image_builder("docker").await.unwrap();
    let node = Arc::new(Recorder::new(|cmd: &RemoteCommand| {
        if cmd.program == "sh" && cmd.args[1].contains("docker push") {
            Reply::stdout(&format!("The push refers to repository [127.0.0.1:5000/org/p/api]\nv1: digest: {DIGEST} size: 528\n"))
        } else {
            Reply::stdout("Login Succeeded\n")
        }
    }));
    let ctx = context(&node);
    auth.validate(&ctx, &section).await.unwrap();
    let credentials = auth
        .credentials(&ctx, &section, "ignored.example")
        .await
        .unwrap();
    assert_eq!(
        credentials,
        Credentials {
            registry: "127.0.0.1:5000".into(),
            username: "ci".into(),
            secret: TOKEN.into()
        }
    );
    assert!(!format!("{credentials:?}").contains(TOKEN));
    assert_eq!(
        ctx.printer().redactor().redact(&format!("x {TOKEN} y")),
        "x *** y"
    );

    docker.login(&ctx, &section, &credentials).await.unwrap();
    let digest = docker
        .push(
            &ctx,
            PushRequest {
                section: &section,
                image: "127.0.0.1:5000/org/p/api:v1".into(),
                label: "api".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(digest.digest, DIGEST);
    assert!(digest.platforms.is_empty());

    let commands = node.commands();
    // The login is a small sh script (it also asks buildx for the builder
    // while the registry answers); the user and registry are its arguments.
    assert_eq!(commands[0].program, "sh");
    assert_eq!(
        commands[0].args[2..],
        ["ops-docker-login", "ci", "127.0.0.1:5000"].map(String::from)
    );
    assert!(
        commands[0].args[1].contains("docker login --username \"$1\" --password-stdin \"$2\""),
        "{:?}",
        commands[0].args
    );
    assert_eq!(commands[0].stdin.as_deref(), Some(TOKEN.as_bytes()));
    assert!(commands[0].env.contains(&docker_config()));
    assert_eq!(commands[1].program, "sh");
    assert!(
        commands[1].args[1].ends_with("exec docker push 127.0.0.1:5000/org/p/api:v1\n"),
        "{:?}",
        commands[1].args
    );
    assert!(commands[1].env.contains(&docker_config()));
    for cmd in &commands {
        assert!(!cmd.args.iter().any(|a| a.contains(TOKEN)));
        assert!(!cmd.env.iter().any(|(_, v)| v.contains(TOKEN)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_without_a_digest_is_an_error_not_a_made_up_digest() {
    let section = image_section(IMAGE_TOML, &[("REG_TOKEN", TOKEN)]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|cmd: &RemoteCommand| {
        if cmd.program == "sh" {
            Reply::stdout("pushed, somehow\n")
        } else {
            // `docker image inspect` knows no digest for this repository.
            Reply::stdout(&format!("[\"other.example/x@{DIGEST}\"]\n"))
        }
    }));
    let err = docker
        .push(
            &context(&node),
            PushRequest {
                section: &section,
                image: "127.0.0.1:5000/org/p/api:v1".into(),
                label: "api".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reported no digest"), "{err}");
    assert_eq!(ExitStatusOf::exit(&err), Exit::Push);
    let argv = node.argv();
    assert_eq!(
        argv[1],
        "docker image inspect --format {{json .RepoDigests}} 127.0.0.1:5000/org/p/api:v1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_section_errors_point_at_the_keys() {
    // docker checks its own keys only; prefix, services and binary_arg are
    // the host's (see the pipeline's job tests), whatever their values.
    let toml = "[build]\npath = \"/p\"\n\n[build.image]\nprefix = \"Registry/Org\"\n\
                services = [\"api\"]\ndockerfile = \"../Dockerfile\"\nplatfroms = [\"linux/amd64\"]\n";
    let section = image_section(toml, &[]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let Err(ValidationError::Invalid(errors)) = docker.validate(&context(&node), &section).await
    else {
        panic!("expected config errors")
    };
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with("ops.toml:8:") && text[0].contains("did you mean `platforms`"),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("ops.toml:7:") && text[1].contains("must be a path inside build.path"),
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_builds_each_get_their_own_instance() {
    let section = image_section(IMAGE_TOML, &[("REG_TOKEN", TOKEN)]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|_| Reply {
        delay: std::time::Duration::from_millis(500),
        ..Reply::default()
    }));
    let ctx = context(&node);
    let services = ["api", "worker", "web", "cron", "mail"];
    let start = std::time::Instant::now();
    let builds = services.map(|service| {
        let docker = docker.clone();
        let ctx = ctx.clone();
        let section = section.clone();
        tokio::spawn(async move {
            docker
                .build(
                    &ctx,
                    BuildRequest {
                        section: &section,
                        context: "/opt/b/p".into(),
                        dockerfile: "Dockerfile.prod".into(),
                        image: format!("r/p/{service}:t"),
                        build_args: vec![("SERVICE_BINARY".into(), service.into())],
                        label: service.into(),
                        labels: vec![("ops.project".into(), "p".into())],
                    },
                )
                .await
        })
    });
    for build in builds {
        build.await.unwrap().unwrap();
    }
    // Five 500 ms builds overlapped rather than ran one after another.
    assert!(
        start.elapsed() < std::time::Duration::from_millis(2000),
        "{:?}",
        start.elapsed()
    );
    let mut images: Vec<String> = node
        .commands()
        .iter()
        .filter_map(|c| {
            let script = &c.args[1];
            let after = &script[script.find(" -t ")? + 4..];
            Some(after.split(' ').next()?.trim_matches('\'').to_owned())
        })
        .collect();
    images.sort();
    assert_eq!(
        images,
        [
            "r/p/api:t",
            "r/p/cron:t",
            "r/p/mail:t",
            "r/p/web:t",
            "r/p/worker:t"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_secrets_travel_in_the_environment_and_files_only() {
    let toml = format!(
        "{IMAGE_TOML}secrets = {{ NPM_TOKEN = \"$NPM_TOKEN\" }}\nbuild_args = {{ MODE = \"release\" }}\ntarget = \"runtime\"\n"
    );
    let secret = "npm-s3cret-value";
    let section = image_section(&toml, &[("REG_TOKEN", TOKEN), ("NPM_TOKEN", secret)]);
    let (rt, _cache) = runtime(Limits::default());
    let docker = Registry::builtins(&rt)
        .image_builder("docker")
        .await
        .unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let ctx = context(&node);
    docker.validate(&ctx, &section).await.unwrap();
    docker
        .build(
            &ctx,
            BuildRequest {
                section: &section,
                context: "/opt/b/p".into(),
                dockerfile: "Dockerfile.prod".into(),
                image: "r/p/api:t".into(),
                build_args: vec![("SERVICE_BINARY".into(), "api".into())],
                label: "api".into(),
                labels: vec![("ops.project".into(), "p".into())],
            },
        )
        .await
        .unwrap();
    let cmd = &node.commands()[0];
    assert!(!cmd.args.iter().any(|a| a.contains(secret)));
    assert!(cmd
        .env
        .contains(&("OPS_BUILD_SECRET_0".into(), secret.into())));
    let script = &cmd.args[1];
    for needle in [
        "--secret 'id=NPM_TOKEN,src=",
        "--build-arg 'MODE=release' --build-arg 'SERVICE_BINARY=api'",
        "--target runtime",
    ] {
        assert!(script.contains(needle), "{needle:?} not in {script}");
    }
}
