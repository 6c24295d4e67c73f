//! The command lines of login, build and push. Every buildah command runs
//! under [`WRAPPER`], which makes sure the run's auth file exists (a run
//! without a registry login still passes `--authfile`, which buildah wants
//! to exist) and prints the pushed digest from `--digestfile`.

use crate::options::Options;

/// `sh -c WRAPPER ops-buildah AUTHFILE DIGESTFILE buildah ARGS...`.
pub const WRAPPER: &str = "set -e\n\
a=$1\n\
d=$2\n\
shift 2\n\
if [ ! -e \"$a\" ]; then\n\
\tumask 077\n\
\tprintf '{\"auths\":{}}\\n' >\"$a.$$\"\n\
\tmv -f \"$a.$$\" \"$a\"\n\
fi\n\
\"$@\"\n\
if [ -n \"$d\" ]; then printf 'ops-digest: %s\\n' \"$(cat \"$d\")\"; fi\n";

/// The files of one run in its scratch directory.
pub struct Scratch<'a> {
    pub dir: &'a str,
}

impl Scratch<'_> {
    pub fn auth(&self) -> String {
        format!("{}/auth.json", self.dir)
    }

    pub fn secret(&self, id: &str) -> String {
        format!("{}/secret-{id}", self.dir)
    }

    pub fn digest(&self, image: &str) -> String {
        format!("{}/digest-{}", self.dir, file_key(image))
    }
}

/// The inputs of one build.
pub struct Build<'a> {
    pub scratch: &'a Scratch<'a>,
    pub context: &'a str,
    pub dockerfile: &'a str,
    pub image: &'a str,
    /// `binary_arg` and the like, from the host.
    pub build_args: &'a [(String, String)],
    /// The host's `ops.*` labels, put on every platform's image.
    pub labels: &'a [(String, String)],
    pub options: &'a Options,
}

/// The arguments of the wrapper around `command`.
pub fn wrapped(scratch: &Scratch, digest: Option<&str>, command: Vec<String>) -> Vec<String> {
    let mut args = vec![
        "-c".to_owned(),
        WRAPPER.to_owned(),
        "ops-buildah".to_owned(),
        scratch.auth(),
        digest.unwrap_or_default().to_owned(),
        "buildah".to_owned(),
    ];
    args.extend(command);
    args
}

/// `buildah login`: the secret comes on stdin.
pub fn login(scratch: &Scratch, registry: &str, username: &str) -> Vec<String> {
    let mut args = strs(&["login", "--authfile"]);
    args.push(scratch.auth());
    args.extend(tls(registry));
    args.extend(strs(&[
        "--username",
        username,
        "--password-stdin",
        registry,
    ]));
    args
}

/// `buildah bud` for one platform (`None`: the node's own, one plain image
/// tagged `image`; `Some`: added to the manifest list named `image`).
pub fn bud(b: &Build, platform: Option<&str>) -> Vec<String> {
    let o = b.options;
    let mut args = strs(&["bud", "--authfile"]);
    args.push(b.scratch.auth());
    args.push("-f".into());
    args.push(b.dockerfile.into());
    // The host's (binary_arg) come last so that they win.
    for (k, v) in o.build_args.iter().chain(b.build_args.iter()) {
        args.push("--build-arg".into());
        args.push(format!("{k}={v}"));
    }
    if let Some(target) = &o.target {
        args.extend(strs(&["--target", target]));
    }
    // After the Dockerfile's own LABELs, so that these win.
    for (k, v) in b.labels {
        args.push("--label".into());
        args.push(format!("{k}={v}"));
    }
    for (id, _) in &o.secrets {
        args.push("--secret".into());
        args.push(format!("id={id},src={}", b.scratch.secret(id)));
    }
    match platform {
        None => {
            // buildah 1.28's layer cache ignores the platform of a
            // `FROM scratch` stage, so it is only used for one platform.
            args.push("--layers".into());
            if let Some(c) = &o.cache_from {
                args.extend(strs(&["--cache-from", c]));
            }
            if let Some(c) = &o.cache_to {
                args.extend(strs(&["--cache-to", c]));
            }
            args.extend(strs(&["-t", b.image]));
        }
        Some(p) => {
            // Each platform's image has no name of its own: this one says
            // which list it is in, so that pruning finds the list by it.
            args.push("--label".into());
            args.push(format!("{}={}", crate::housekeeping::LIST_LABEL, b.image));
            args.extend(strs(&["--platform", p, "--manifest", b.image]));
        }
    }
    args.push(b.context.into());
    args
}

/// Remove what an earlier run left under `image`'s name, the list and
/// then a plain image (`rmi` does not remove lists in 1.28): `--manifest`
/// adds to a list that exists, and fails on a plain image. Either may find
/// nothing.
pub fn remove_previous(image: &str) -> [Vec<String>; 2] {
    [
        strs(&["manifest", "rm", image]),
        strs(&["rmi", "-f", image]),
    ]
}

/// `buildah push` (one image) or `buildah manifest push --all` (the list).
pub fn push(scratch: &Scratch, image: &str, list: bool) -> Vec<String> {
    let mut args = if list {
        strs(&["manifest", "push", "--all"])
    } else {
        strs(&["push"])
    };
    args.extend(strs(&["--authfile", &scratch.auth()]));
    args.extend(strs(&["--digestfile", &scratch.digest(image)]));
    args.extend(tls(registry_of(image)));
    args.push(image.into());
    args.push(format!("docker://{image}"));
    args
}

/// The registry host of a full reference (`host[:port]/path:tag`).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Plain HTTP for a registry on loopback only (the registry's own machine,
/// as in tests and SSH tunnels); every other registry is spoken to over
/// verified TLS, buildah's default.
fn tls(registry: &str) -> Vec<String> {
    if is_loopback(registry) {
        vec!["--tls-verify=false".into()]
    } else {
        Vec::new()
    }
}

pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        registry.split(':').next().unwrap_or_default()
    };
    host == "localhost" || host == "::1" || host.starts_with("127.") && host.split('.').count() == 4
}

/// The digest `push` printed through the wrapper.
pub fn pushed_digest(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("ops-digest: "))
        .map(str::trim)
        .find(|d| {
            d.strip_prefix("sha256:").is_some_and(|hex| {
                hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
        })
        .map(str::to_owned)
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
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

    const SCRATCH: Scratch = Scratch { dir: "/tmp/s" };
    const IMAGE: &str = "127.0.0.1:5000/p/api:v1";

    fn bud_with(options: &Options, platform: Option<&str>) -> Vec<String> {
        let host = vec![("SERVICE_BINARY".to_owned(), "api".to_owned())];
        let labels = vec![("ops.project".to_owned(), "p".to_owned())];
        bud(
            &Build {
                scratch: &SCRATCH,
                context: "/opt/p",
                dockerfile: "Dockerfile",
                image: IMAGE,
                build_args: &host,
                labels: &labels,
                options,
            },
            platform,
        )
    }

    #[test]
    fn one_platform_builds_a_tagged_image_with_the_layer_cache() {
        let options = Options {
            build_args: vec![("MODE".into(), "release".into())],
            target: Some("runtime".into()),
            cache_from: Some("r/c".into()),
            cache_to: Some("r/c".into()),
            ..Options::default()
        };
        let args = bud_with(&options, None).join(" ");
        assert_eq!(
            args,
            "bud --authfile /tmp/s/auth.json -f Dockerfile --build-arg MODE=release \
             --build-arg SERVICE_BINARY=api --target runtime --label ops.project=p --layers \
             --cache-from r/c \
             --cache-to r/c -t 127.0.0.1:5000/p/api:v1 /opt/p"
        );
    }

    #[test]
    fn a_platform_goes_into_the_manifest_list_without_the_layer_cache() {
        let args = bud_with(&Options::default(), Some("linux/arm64")).join(" ");
        assert!(args.ends_with("--platform linux/arm64 --manifest 127.0.0.1:5000/p/api:v1 /opt/p"));
        assert!(!args.contains("--layers"));
    }

    #[test]
    fn secrets_go_by_file_never_by_value() {
        let options = Options {
            secrets: vec![("NPM_TOKEN".into(), "hunter2".into())],
            ..Options::default()
        };
        let args = bud_with(&options, None);
        assert!(!args.join(" ").contains("hunter2"));
        assert!(args.contains(&"id=NPM_TOKEN,src=/tmp/s/secret-NPM_TOKEN".to_owned()));
    }

    #[test]
    fn loopback_registries_alone_go_without_tls() {
        let login = login(&SCRATCH, "127.0.0.1:5000", "ci").join(" ");
        assert_eq!(
            login,
            "login --authfile /tmp/s/auth.json --tls-verify=false --username ci \
             --password-stdin 127.0.0.1:5000"
        );
        for r in ["localhost:5000", "[::1]:5000", "127.0.0.1", "localhost"] {
            assert!(is_loopback(r), "{r}");
        }
        for r in [
            "ghcr.io",
            "127.0.0.1.evil.com:5000",
            "localhost.evil.com",
            "10.0.0.1:5000",
        ] {
            assert!(!is_loopback(r), "{r}");
        }
        let push = push(&SCRATCH, "ghcr.io/o/api:v1", true).join(" ");
        assert_eq!(
            push,
            "manifest push --all --authfile /tmp/s/auth.json --digestfile \
             /tmp/s/digest-ghcr.io_o_api_v1 ghcr.io/o/api:v1 docker://ghcr.io/o/api:v1"
        );
    }

    #[test]
    fn push_reports_the_digest_file() {
        let args = push(&SCRATCH, IMAGE, false).join(" ");
        assert!(args.starts_with("push --authfile /tmp/s/auth.json --digestfile /tmp/s/digest-127.0.0.1_5000_p_api_v1 --tls-verify=false"));
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let out = format!(
            "Copying blob 1 done\nWriting manifest to image destination\nops-digest: {d}\n"
        );
        assert_eq!(pushed_digest(&out).as_deref(), Some(d));
        assert_eq!(pushed_digest("ops-digest: \n"), None);
        assert_eq!(registry_of("ghcr.io/o/a:1"), "ghcr.io");
        assert_eq!(registry_of("library/a:1"), "docker.io");
    }

    #[test]
    fn the_wrapper_takes_auth_and_digest_files_first() {
        let args = wrapped(&SCRATCH, None, vec!["version".into()]);
        assert_eq!(
            args[2..],
            ["ops-buildah", "/tmp/s/auth.json", "", "buildah", "version"]
        );
    }
}
