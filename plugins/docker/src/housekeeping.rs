//! Listing and removing the images ops made, and the build cache: what
//! `ops node prune` and `ops node df` ask of the image builder. Each call is
//! one `sh -c` script on the node, with every value as an argument (`"$@"`),
//! never spliced into the script.

use crate::exports::ops::plugin::image::{StorageUsage, StoredImage};
use crate::ops::plugin::types::ExecOutput;
use crate::options::Options;
use ops_plugin_sdk::exec::Exec;
use ops_plugin_sdk::{parse_size, Error};

/// `$1`: the project. One line per image: its id, names, size and labels,
/// each field JSON so that no label value can break the line apart. An
/// image removed between the listing and the inspection (another prune, a
/// person) is simply not there: `inspect` prints the others and fails.
const LIST: &str = r#"set -e
ids=$(docker image ls -q --no-trunc --filter "label=ops.project=$1" | sort -u)
[ -n "$ids" ] || exit 0
docker image inspect --format '{{json .Id}} {{json .RepoTags}} {{.Size}} {{json .Config.Labels}}' $ids 2>/dev/null || :"#;

/// The names as arguments, the ids on stdin (one a line). A name is only
/// untagged, all of them in one `docker image rm` (which goes on past one
/// that fails); an id goes only while no name points at it. An image in
/// use (a container, a child image) stays: that is said, not a failure.
/// Errors are kept in variables, never in a file: a file of a known name
/// in a shared `/tmp` is one another node user could plant a symlink at.
const REMOVE: &str = r#"docker version --format '{{.Server.Version}}' >/dev/null || exit 69
if [ $# -gt 0 ] && ! err=$(docker image rm "$@" 2>&1 >/dev/null); then
	printf '%s\n' "$err" | sed 's/^/kept: /' >&2
fi
while IFS= read -r id; do
	tags=$(docker image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null) || continue
	[ "$tags" = 0 ] || continue
	err=$(docker image rm "$id" 2>&1 >/dev/null) || echo "kept $id: $(printf '%s\n' "$err" | tail -n 1)" >&2
done"#;

/// `$1`: a buildx builder, or empty for the engine's own BuildKit.
const STORAGE: &str = r#"if [ -n "$1" ]; then
	docker buildx du --builder "$1" | sed -n 's/^Total:[[:space:]]*/cache /p'
else
	docker system df --format '{{.Type}}	{{.Size}}' | sed -n 's/^Build Cache	/cache /p'
fi
printf 'root %s\n' "$(docker info --format '{{.DockerRootDir}}')""#;

/// `$1`: bytes to keep, `$2`: a buildx builder or empty.
const PRUNE_CACHE: &str = r#"if [ -n "$2" ]; then
	docker buildx prune --force --builder "$2" --keep-storage "$1"
else
	docker builder prune --force --keep-storage "$1"
fi"#;

pub fn list_images(project: &str) -> Result<Vec<StoredImage>, Error> {
    let out = run(LIST, vec![project.to_owned()])?;
    crate::check(&out, "listing the project's images")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_image)
        .collect()
}

pub fn remove_images(names: Vec<String>, ids: Vec<String>) -> Result<(), Error> {
    let stdin = ids.iter().map(|id| format!("{id}\n")).collect::<String>();
    let out = run_with_stdin(REMOVE, names, Some(stdin.into_bytes()))?;
    crate::check(&out, "removing images")?;
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        ops_plugin_sdk::host_log::log(ops_plugin_sdk::LogLevel::Warn, line);
    }
    Ok(())
}

pub fn storage(options: &Options) -> Result<StorageUsage, Error> {
    let builder = options.builder.clone().unwrap_or_default();
    let out = run(STORAGE, vec![builder])?;
    crate::check(&out, "measuring the build cache")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut usage = StorageUsage {
        cache: 0,
        location: None,
    };
    for line in text.lines() {
        if let Some(size) = line.strip_prefix("cache ") {
            usage.cache = parse_size(size)
                .ok_or_else(|| Error::Failed(format!("docker reported a cache of {size:?}")))?;
        } else if let Some(root) = line.strip_prefix("root ") {
            usage.location = Some(root.trim().to_owned()).filter(|r| r.starts_with('/'));
        }
    }
    Ok(usage)
}

pub fn prune_cache(options: &Options, keep_bytes: u64) -> Result<u64, Error> {
    let builder = options.builder.clone().unwrap_or_default();
    let out = run(PRUNE_CACHE, vec![keep_bytes.to_string(), builder])?;
    crate::check(&out, "pruning the build cache")?;
    // `Total:  1.2GB` (buildx) or `Total reclaimed space: 1.2GB`.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("Total"))
        .filter_map(|l| l.rsplit([':', '\t']).next())
        .filter_map(parse_size)
        .next_back()
        .unwrap_or(0))
}

fn run(script: &str, args: Vec<String>) -> Result<ExecOutput, Error> {
    run_with_stdin(script, args, None)
}

fn run_with_stdin(
    script: &str,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
) -> Result<ExecOutput, Error> {
    let exec = Exec::remote("sh")
        .args(["-c", script, "ops-docker"])
        .args(args);
    let exec = match stdin {
        Some(bytes) => exec.stdin(bytes),
        None => exec,
    };
    Ok(exec.output()?.0)
}

/// One line of [`LIST`].
fn parse_image(line: &str) -> Result<StoredImage, Error> {
    let bad = || Error::Failed(format!("docker image inspect printed {line:?}"));
    let mut fields = serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>();
    let mut next = || fields.next().and_then(Result::ok).ok_or_else(bad);
    let id = next()?.as_str().ok_or_else(bad)?.to_owned();
    let names = match next()? {
        serde_json::Value::Array(tags) => tags
            .into_iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let size = next()?.as_u64().ok_or_else(bad)?;
    let labels = match next()? {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| k.starts_with("ops."))
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    Ok(StoredImage {
        id,
        names,
        labels,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_inspected_image() {
        let line = r#""sha256:ab12" ["127.0.0.1:5000/p/api:t1","other/app:keep"] 4096 {"ops.build":"2026-12-08T01:02:03.456Z","ops.project":"p q","ops.repository":"127.0.0.1:5000/p/api","maintainer":"x"}"#;
        let image = parse_image(line).unwrap();
        assert_eq!(image.id, "sha256:ab12");
        assert_eq!(image.names, ["127.0.0.1:5000/p/api:t1", "other/app:keep"]);
        assert_eq!(image.size, 4096);
        assert_eq!(
            image.labels.len(),
            3,
            "only ops.* labels: {:?}",
            image.labels
        );
        assert!(image.labels.contains(&("ops.project".into(), "p q".into())));
    }

    #[test]
    fn an_image_without_names_or_labels_reads_as_such() {
        let image = parse_image(r#""sha256:cd" null 10 null"#).unwrap();
        assert!(image.names.is_empty() && image.labels.is_empty());
        assert!(parse_image(r#""sha256:cd" [] "ten" {}"#).is_err());
        assert!(parse_image("garbage").is_err());
    }
}
