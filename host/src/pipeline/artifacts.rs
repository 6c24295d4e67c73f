//! The artifacts step: once the build command succeeded, the files named
//! by `build.artifacts` come back over the run's connection, beside the
//! image builds. First one command on the node expands every pattern and
//! checks every match (a regular file whose real path is under
//! `build.path`); only when all pass is any byte written here, one file
//! at a time, streamed ([`ArtifactFile`]).

use std::path::PathBuf;

use anyhow::anyhow;

use crate::exit::{Exit, Failure};
use crate::output::{ArtifactSummary, Event};
use crate::remote::{Capture, RemoteCommand, Stdin};

use super::artifact_file::ArtifactFile;
use super::artifact_paths::local_relative;
use super::steps::Run;

/// Expands each pattern (`"$@"`, never spliced into the script) in the
/// build path and prints one NUL-ended record per result: `F<TAB>mode<TAB>
/// path` for a file to fetch, `E` for a match whose real path leaves the
/// build path, `D` for one that is not a regular file, `N` for a pattern
/// that matched nothing. `IFS` is empty so that a match is globbed but
/// never split.
const LIST: &str = r#"root=$(pwd -P) || exit 1
IFS=''
for pat in "$@"; do
  found=
  for f in $pat; do
    if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
    found=1
    real=$(readlink -f -- "$f") || real=
    case "$real" in
      "$root"/*) ;;
      *) printf 'E\t%s\0' "$f"; continue ;;
    esac
    if [ ! -f "$real" ]; then printf 'D\t%s\0' "$f"; continue; fi
    printf 'F\t%s\t%s\0' "$(stat -c %a -- "$real")" "$f"
  done
  [ -n "$found" ] || printf 'N\t%s\0' "$pat"
done
"#;

/// Sends one file, checked once more just before: a file swapped for a
/// symlink that leads out of the build path since the listing is refused.
const FETCH: &str = r#"real=$(readlink -f -- "$1") && root=$(pwd -P) || exit 1
case "$real" in
  "$root"/*) [ -f "$real" ] && exec cat -- "$real" ;;
esac
echo "$1 now leads out of the build path or is not a regular file" >&2
exit 3
"#;

/// One file the node found.
struct Found {
    /// As the node reported it, relative to the build path.
    remote: String,
    local: PathBuf,
    mode: u32,
}

impl Run<'_> {
    /// Fetches every artifact into the artifacts directory.
    pub(super) async fn artifacts(&self) -> Result<Vec<ArtifactSummary>, Failure> {
        if self.job.artifacts.is_empty() {
            return Ok(Vec::new());
        }
        self.check_artifacts_dir()?;
        let found = self.list_artifacts().await?;
        let mut written = Vec::with_capacity(found.len());
        for file in found {
            let artifact = self.fetch_artifact(&file).await?;
            self.printer.emit(&Event::Artifact {
                path: artifact.path.clone(),
                bytes: artifact.bytes,
                mode: artifact.mode.clone(),
                sha256: artifact.sha256.clone(),
            });
            written.push(artifact);
        }
        Ok(written)
    }

    /// The default `ops-artifacts/` sits in the project's folder, which a
    /// repository fills: committed as a symlink, it would send the node's
    /// files anywhere it points (`~`, say). Only a real folder is used.
    fn check_artifacts_dir(&self) -> Result<(), Failure> {
        let dir = &self.job.artifacts_dir;
        let linked = std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
        if linked && !self.job.artifacts_dir_chosen {
            return Err(failure(format!(
                "{} is a symlink; ops writes artifacts only into a real folder there (or into \
                 the folder --artifacts-dir names); nothing was fetched",
                dir.display()
            )));
        }
        Ok(())
    }

    async fn list_artifacts(&self) -> Result<Vec<Found>, Failure> {
        let command = RemoteCommand::new("sh")
            .args(["-c", LIST, "sh"])
            .args(self.job.artifacts.iter().cloned())
            .cwd(self.job.path.clone());
        let mut listing = Capture::default();
        let exit = self
            .node
            .run(&command, Stdin::empty(), &mut listing)
            .await?;
        if !exit.success() || listing.truncated {
            return Err(failure(format!(
                "listing build.artifacts in {} failed ({exit}): {}",
                self.job.path,
                String::from_utf8_lossy(&listing.stderr).trim()
            )));
        }
        parse_listing(&listing.stdout, &self.job.path)
    }

    async fn fetch_artifact(&self, file: &Found) -> Result<ArtifactSummary, Failure> {
        let dir = &self.job.artifacts_dir;
        let local_error = |e: std::io::Error| {
            failure(format!(
                "cannot write the artifact {} under {}: {e}",
                file.local.display(),
                dir.display()
            ))
        };
        let mut sink = ArtifactFile::create(dir, &file.local).map_err(local_error)?;
        let command = RemoteCommand::new("sh")
            .args(["-c", FETCH, "sh", file.remote.as_str()])
            .cwd(self.job.path.clone());
        let exit = self.node.run(&command, Stdin::empty(), &mut sink).await?;
        if !exit.success() {
            return Err(failure(format!(
                "reading the artifact {} on the node failed ({exit}): {}; nothing was written \
                 for it",
                file.remote,
                String::from_utf8_lossy(&sink.stderr).trim()
            )));
        }
        let written = sink.finish(file.mode).map_err(local_error)?;
        Ok(ArtifactSummary {
            path: written.path.display().to_string(),
            bytes: written.bytes,
            mode: format!("{:o}", file.mode & 0o777),
            sha256: written.sha256,
        })
    }
}

/// The node's listing as files to fetch, or the first thing wrong with it.
/// Every path is checked here, whatever the script was meant to print.
fn parse_listing(listing: &[u8], build_path: &str) -> Result<Vec<Found>, Failure> {
    let mut found = Vec::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = std::str::from_utf8(record)
            .map_err(|_| failure("an artifact path on the node is not UTF-8".into()))?;
        let mut fields = record.splitn(3, '\t');
        let (kind, first, rest) = (fields.next(), fields.next(), fields.next());
        match (kind, first, rest) {
            (Some("F"), Some(mode), Some(path)) => {
                let mode = u32::from_str_radix(mode, 8)
                    .map_err(|_| failure(format!("the node reported the mode {mode:?}")))?;
                let local = local_relative(path).map_err(|e| failure(e.to_string()))?;
                found.push(Found {
                    remote: path.to_owned(),
                    local,
                    mode,
                });
            }
            (Some("N"), Some(pattern), None) => {
                return Err(failure(format!(
                    "build.artifacts: {pattern:?} matched nothing in {build_path}"
                )))
            }
            (Some("E"), Some(path), None) => {
                return Err(failure(format!(
                    "build.artifacts: {path:?} is a symlink that leads out of {build_path}; \
                     refused, nothing was written"
                )))
            }
            (Some("D"), Some(path), None) => {
                return Err(failure(format!(
                    "build.artifacts: {path:?} in {build_path} is not a regular file"
                )))
            }
            _ => {
                return Err(failure(format!(
                    "the node's artifact listing said {record:?}"
                )))
            }
        }
    }
    Ok(found)
}

fn failure(message: String) -> Failure {
    Failure::new(Exit::Artifacts, anyhow!(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_with_hostile_paths_is_refused() {
        for bad in [
            "F\t644\t../x\0",
            "F\t644\t/etc/passwd\0",
            "F\t644\t.\0",
            "X\ty\0",
        ] {
            let e = parse_listing(bad.as_bytes(), "/b").err().unwrap();
            assert_eq!(e.exit, Exit::Artifacts, "{bad:?}");
        }
    }

    #[test]
    fn a_listing_names_the_files_to_fetch() {
        let found = parse_listing(b"F\t755\tbin/api\0F\t644\t./a b\0", "/b").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].mode, 0o755);
        assert_eq!(found[1].local, PathBuf::from("a b"));
        let e = parse_listing(b"N\tdist/*.tgz\0", "/b").err().unwrap();
        assert!(e
            .error
            .to_string()
            .contains("\"dist/*.tgz\" matched nothing"));
    }
}
