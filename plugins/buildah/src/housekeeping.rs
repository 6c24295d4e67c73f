//! Listing and removing the images ops made, and the layer cache: what `ops
//! node prune` and `ops node df` ask of the image builder. Fixed `sh -c`
//! scripts with every value as an argument.
//!
//! In buildah's storage an image is named (`-t`, a manifest list), left
//! without a name (dangling: a platform's image of a list, or one a rebuild
//! took the name from), or an intermediate image of `--layers`: the layer
//! cache. Only the first two are ever listed as the project's; the cache is
//! the intermediates.

use std::collections::{BTreeSet, HashMap};

use crate::exports::ops::plugin::image::{StorageUsage, StoredImage};
use crate::ops::plugin::types::ExecOutput;
use ops_plugin_sdk::exec::Exec;
use ops_plugin_sdk::{parse_size, Error};

/// Put on each platform's image of a list: the list's name.
pub const LIST_LABEL: &str = "ops.list";

/// `$1`: the project. Every image as JSON, then the dangling ones' ids,
/// then the `ops.*` labels of each image labelled for the project.
const LIST: &str = r#"set -e
buildah images --json --no-trunc --all
echo '@@dangling'
buildah images -q --no-trunc --all --filter dangling=true
for id in $(buildah images -q --no-trunc --all --filter "label=ops.project=$1"); do
	printf '@@image %s\n' "$id"
	buildah inspect --type image --format '{{range $k, $v := .OCIv1.Config.Labels}}{{$k}}={{$v}}
{{end}}' "$id"
done"#;

/// `$1`: how many names follow, then the names, then ids. A list goes with
/// `manifest rm`, a name with `rmi` (which only untags an image another
/// name keeps); an id only while no name points at its image. What stays
/// is said on stderr. Errors are kept in variables, never in a file of a
/// known name in a shared `/tmp`.
const REMOVE: &str = r#"n=$1; shift
while [ "$n" -gt 0 ]; do
	if ! buildah manifest rm "$1" >/dev/null 2>&1 && ! err=$(buildah rmi "$1" 2>&1 >/dev/null); then
		echo "kept $1: $(printf '%s\n' "$err" | tail -n 1)" >&2
	fi
	n=$((n - 1)); shift
done
names=$(buildah images --no-trunc --all --format '{{.ID}} {{.Name}}')
for id in "$@"; do
	printf '%s\n' "$names" | grep -F -- "${id#sha256:} " | grep -qv ' <none>$' && continue
	if err=$(buildah rmi "$id" 2>&1 >/dev/null); then echo "removed $id"; else echo "kept $id: $(printf '%s\n' "$err" | tail -n 1)" >&2; fi
done"#;

/// One image of `buildah images --json`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: String,
    names: Vec<String>,
    size: u64,
    created: i64,
}

/// Everything [`LIST`] printed, read.
#[derive(Debug, Default)]
struct Storage {
    images: Vec<Listed>,
    dangling: BTreeSet<String>,
    labels: HashMap<String, Vec<(String, String)>>,
}

pub fn list_images(project: &str) -> Result<Vec<StoredImage>, Error> {
    let storage = read_storage(project)?;
    Ok(project_images(&storage))
}

pub fn remove_images(names: Vec<String>, ids: Vec<String>) -> Result<(), Error> {
    let out = remove(names, ids)?;
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        ops_plugin_sdk::host_log::log(ops_plugin_sdk::LogLevel::Warn, line);
    }
    Ok(())
}

pub fn storage() -> Result<StorageUsage, Error> {
    // No project's labels are needed for the cache: `-` matches none.
    let storage = read_storage("-")?;
    let cache = intermediates(&storage).iter().map(|i| i.size).sum();
    let out = run("buildah info --format '{{.store.GraphRoot}}'", Vec::new())?;
    crate::check(&out, "buildah info")?;
    let root = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok(StorageUsage {
        cache,
        location: Some(root).filter(|r| r.starts_with('/')),
    })
}

/// Removes intermediate images, the oldest first, until at most
/// `keep_bytes` of them are left.
pub fn prune_cache(keep_bytes: u64) -> Result<u64, Error> {
    let storage = read_storage("-")?;
    let mut cache = intermediates(&storage);
    cache.sort_by_key(|i| i.created);
    let mut total: u64 = cache.iter().map(|i| i.size).sum();
    let mut ids = Vec::new();
    for image in cache {
        if total <= keep_bytes {
            break;
        }
        total = total.saturating_sub(image.size);
        ids.push(image.id.clone());
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let sizes: HashMap<&str, u64> = storage
        .images
        .iter()
        .map(|i| (i.id.as_str(), i.size))
        .collect();
    let out = remove(Vec::new(), ids.clone())?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("removed "))
        .filter_map(|id| sizes.get(id.trim()))
        .sum())
}

fn remove(names: Vec<String>, ids: Vec<String>) -> Result<ExecOutput, Error> {
    let mut args = vec![names.len().to_string()];
    args.extend(names);
    args.extend(ids);
    let out = run(REMOVE, args)?;
    crate::check(&out, "removing images")?;
    Ok(out)
}

fn read_storage(project: &str) -> Result<Storage, Error> {
    let out = run(LIST, vec![project.to_owned()])?;
    crate::check(&out, "listing images")?;
    parse_storage(&String::from_utf8_lossy(&out.stdout))
}

/// Images without a name that are not dangling: `--layers`' cache.
fn intermediates(storage: &Storage) -> Vec<&Listed> {
    storage
        .images
        .iter()
        .filter(|i| i.names.is_empty() && !storage.dangling.contains(&i.id))
        .collect()
}

/// The project's named and dangling images, and each list named by their
/// [`LIST_LABEL`] with its platforms' labels.
fn project_images(storage: &Storage) -> Vec<StoredImage> {
    let by_id: HashMap<&str, &Listed> = storage.images.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut out = Vec::new();
    let mut lists = BTreeSet::new();
    for (id, labels) in &storage.labels {
        let Some(image) = by_id.get(id.as_str()) else {
            continue;
        };
        if image.names.is_empty() && !storage.dangling.contains(id) {
            continue;
        }
        if let Some((_, list)) = labels.iter().find(|(k, _)| k == LIST_LABEL) {
            let named = storage
                .images
                .iter()
                .find(|i| i.names.contains(list) && !storage.labels.contains_key(&i.id));
            if let Some(named) = named {
                if lists.insert(named.id.clone()) {
                    out.push(StoredImage {
                        id: named.id.clone(),
                        names: named.names.clone(),
                        labels: labels.clone(),
                        size: named.size,
                    });
                }
            }
        }
        out.push(StoredImage {
            id: id.clone(),
            names: image.names.clone(),
            labels: labels.clone(),
            size: image.size,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn parse_storage(text: &str) -> Result<Storage, Error> {
    let bad = |what: &str| Error::Failed(format!("buildah printed {what} ops cannot read"));
    let (json, rest) = text
        .split_once("@@dangling\n")
        .ok_or_else(|| bad("no image listing"))?;
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|_| bad("an image listing"))?;
    let mut storage = Storage::default();
    for item in listed {
        let id = item["id"]
            .as_str()
            .ok_or_else(|| bad("an image without id"))?;
        let names = item["names"]
            .as_array()
            .map(|n| {
                n.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        storage.images.push(Listed {
            id: id.to_owned(),
            names,
            size: item["size"].as_str().and_then(parse_size).unwrap_or(0),
            created: item["created"].as_i64().unwrap_or(0),
        });
    }
    let mut current: Option<String> = None;
    for line in rest.lines() {
        if let Some(id) = line.strip_prefix("@@image ") {
            current = Some(id.trim().to_owned());
            storage.labels.entry(id.trim().to_owned()).or_default();
        } else if let Some(id) = &current {
            if let Some((k, v)) = line.split_once('=').filter(|(k, _)| k.starts_with("ops.")) {
                if let Some(labels) = storage.labels.get_mut(id) {
                    labels.push((k.to_owned(), v.to_owned()));
                }
            }
        } else if !line.trim().is_empty() {
            storage.dangling.insert(line.trim().to_owned());
        }
    }
    Ok(storage)
}

fn run(script: &str, args: Vec<String>) -> Result<ExecOutput, Error> {
    let exec = Exec::remote("sh").args(["-c", script, "ops-buildah"]);
    Ok(exec.args(args).output()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = r#"[
    {"id": "sha256:aa", "names": ["r/p/api:t1"], "size": "4.02 KB", "created": 3},
    {"id": "sha256:bb", "names": null, "size": "1 KB", "created": 1},
    {"id": "sha256:cc", "names": ["r/p/web:t1"], "size": "1.09 KB", "created": 4},
    {"id": "sha256:dd", "names": null, "size": "3.68 KB", "created": 4},
    {"id": "sha256:ee", "names": null, "size": "2 KB", "created": 2}
]
@@dangling
sha256:dd
@@image sha256:aa
io.buildah.version=1.28.2
ops.project=p
ops.build=B1
@@image sha256:bb
ops.project=p
@@image sha256:dd
ops.project=p
ops.build=B2
ops.list=r/p/web:t1
"#;

    #[test]
    fn named_images_and_lists_are_the_projects_and_intermediates_are_cache() {
        let storage = parse_storage(OUT).unwrap();
        let images = project_images(&storage);
        let ids: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
        // aa: named; cc: the list dd is in, with dd's labels; dd: dangling.
        // bb: an intermediate that happens to carry the label: cache.
        assert_eq!(ids, ["sha256:aa", "sha256:cc", "sha256:dd"]);
        let list = &images[1];
        assert_eq!(list.names, ["r/p/web:t1"]);
        assert!(list.labels.contains(&("ops.build".into(), "B2".into())));
        assert!(!images[0]
            .labels
            .iter()
            .any(|(k, _)| k == "io.buildah.version"));
        let cache: Vec<&str> = intermediates(&storage)
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(cache, ["sha256:bb", "sha256:ee"]);
        assert_eq!(storage.images[0].size, 4020);
    }

    #[test]
    fn output_without_the_listing_is_an_error() {
        assert!(parse_storage("garbage").is_err());
    }
}
