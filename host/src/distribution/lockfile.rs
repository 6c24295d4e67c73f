//! `ops.lock`, beside `ops.toml`: the digest, version and declared
//! capabilities of every non-built-in plugin the project has used, so that
//! a changed plugin is noticed on the next run instead of run.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use crate::exit::{Exit, ExitStatusOf};

const HEADER: &str = "\
# ops.lock: written by ops, do not edit by hand. Commit it with ops.toml.
# It pins the plugins this project uses; every run checks them against it.
# To accept a new version of a plugin: ops plugin update [NAME]
";

/// One `[plugins.<name>]` of ops.lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub name: String,
    /// `path`, `url` or `oci` as ops.toml writes it, or `installed`.
    pub source: String,
    pub version: String,
    pub sha256: String,
    /// Declared by that version, in grant syntax, one item each.
    pub capabilities: Vec<String>,
    /// The principal a trusted allowed_signers line gives its signer.
    pub signer: Option<String>,
    /// The signing key's `SHA256:...` fingerprint; another signer is
    /// refused until accepted with `--accept-signer`.
    pub signer_key: Option<String>,
    /// Of a plugin picked by `version = "..."`: that requirement, the
    /// release's plugin API version and its manifest digest (which a run
    /// fetches while the requirement is unchanged, without listing tags).
    /// Absent in older files and for other plugins.
    pub range: Option<Ranged>,
    /// The line of its `sha256` (0 for an entry not read from the file).
    pub line: usize,
}

/// What ops.lock records of a release picked from a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranged {
    /// As ops.toml writes it: when it changes, the release is picked anew.
    pub requirement: String,
    /// The plugin API the release targets.
    pub api: String,
    /// `sha256:<hex>` of the release's OCI manifest.
    pub manifest: String,
}

#[derive(Debug, Clone)]
pub struct LockFile {
    pub path: PathBuf,
    /// False when there is no file yet.
    pub exists: bool,
    entries: Vec<LockEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}; ops writes this file: remove it and run again to write it anew", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl ExitStatusOf for LockError {
    fn exit(&self) -> Exit {
        match self {
            LockError::Io { .. } => Exit::Internal,
            LockError::Syntax { .. } => Exit::Usage,
        }
    }
}

impl LockFile {
    /// `ops.lock` in the folder of `config_file`.
    pub fn beside(config_file: &Path) -> PathBuf {
        match config_file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("ops.lock"),
            _ => PathBuf::from("ops.lock"),
        }
    }

    /// The lock file at `path`; an absent file has no entries.
    pub fn read(path: &Path) -> Result<LockFile, LockError> {
        let text = match crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE)
        {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LockFile {
                    path: path.to_path_buf(),
                    exists: false,
                    entries: Vec::new(),
                })
            }
            Err(source) => {
                return Err(LockError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let entries = parse(path, &text)?;
        Ok(LockFile {
            path: path.to_path_buf(),
            exists: true,
            entries,
        })
    }

    pub fn get(&self, name: &str) -> Option<&LockEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn entries(&self) -> &[LockEntry] {
        &self.entries
    }

    /// Adds or replaces the entry of `entry.name`.
    pub fn set(&mut self, entry: LockEntry) {
        self.entries.retain(|e| e.name != entry.name);
        self.entries.push(entry);
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
    }

    pub fn render(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut out = HEADER.to_owned();
        for e in &self.entries {
            let caps: Vec<String> = e.capabilities.iter().map(|c| q(c)).collect();
            out.push_str(&format!(
                "\n[plugins.{}]\nsource = {}\nversion = {}\nsha256 = {}\ncapabilities = [{}]\n",
                e.name,
                q(&e.source),
                q(&e.version),
                q(&e.sha256),
                caps.join(", ")
            ));
            if let Some(range) = &e.range {
                out.push_str(&format!(
                    "requirement = {}\napi = {}\nmanifest = {}\n",
                    q(&range.requirement),
                    q(&range.api),
                    q(&range.manifest)
                ));
            }
            if let Some(signer) = &e.signer {
                out.push_str(&format!("signer = {}\n", q(signer)));
            }
            if let Some(key) = &e.signer_key {
                out.push_str(&format!("signer_key = {}\n", q(key)));
            }
        }
        out
    }

    /// Writes the file through a temp file and a rename, so that a reader
    /// sees the old file or the new one.
    pub fn write(&mut self) -> Result<(), LockError> {
        let io = |source| LockError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(self.render().as_bytes()).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        self.exists = true;
        Ok(())
    }
}

fn parse(path: &Path, text: &str) -> Result<Vec<LockEntry>, LockError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let syntax = |offset: usize, message: String| LockError::Syntax {
        path: path.to_path_buf(),
        line: line_of(offset),
        message,
    };
    let doc = DeTable::parse(text)
        .map_err(|e| syntax(e.span().map_or(0, |s| s.start), e.message().to_owned()))?;
    let root = doc.get_ref();
    let mut entries = Vec::new();
    let Some(plugins) = root.get("plugins") else {
        return Ok(entries);
    };
    let Some(plugins) = plugins.get_ref().as_table() else {
        return Err(syntax(
            plugins.span().start,
            "`plugins` is not a table".into(),
        ));
    };
    for (name, value) in plugins.iter() {
        let at = value.span().start;
        let Some(table) = value.get_ref().as_table() else {
            return Err(syntax(
                at,
                format!("plugins.{} is not a table", name.get_ref()),
            ));
        };
        let text_of = |key: &str| -> Result<(String, usize), LockError> {
            match table.get(key) {
                Some(v) => match v.get_ref() {
                    DeValue::String(s) => Ok((s.to_string(), v.span().start)),
                    _ => Err(syntax(v.span().start, format!("`{key}` is not a string"))),
                },
                None => Err(syntax(
                    at,
                    format!("plugins.{} has no `{key}`", name.get_ref()),
                )),
            }
        };
        let (sha256, sha_at) = text_of("sha256")?;
        let capabilities = capabilities(table, &syntax)?;
        let optional = |key: &str| match table.get(key) {
            Some(_) => text_of(key).map(|(s, _)| Some(s)),
            None => Ok(None),
        };
        entries.push(LockEntry {
            name: name.get_ref().to_string(),
            source: text_of("source")?.0,
            version: text_of("version")?.0,
            sha256,
            capabilities,
            signer: optional("signer")?,
            signer_key: optional("signer_key")?,
            range: match optional("requirement")? {
                Some(requirement) => Some(Ranged {
                    requirement,
                    api: text_of("api")?.0,
                    manifest: text_of("manifest")?.0,
                }),
                None => None,
            },
            line: line_of(sha_at),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn capabilities(
    table: &DeTable,
    syntax: &dyn Fn(usize, String) -> LockError,
) -> Result<Vec<String>, LockError> {
    let mut capabilities = Vec::new();
    if let Some(list) = table.get("capabilities") {
        let DeValue::Array(items) = list.get_ref() else {
            return Err(syntax(
                list.span().start,
                "`capabilities` is not a list".into(),
            ));
        };
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => capabilities.push(s.to_string()),
                _ => {
                    return Err(syntax(
                        item.span().start,
                        "a capability is not a string".into(),
                    ))
                }
            }
        }
    }
    Ok(capabilities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, digest: char) -> LockEntry {
        LockEntry {
            name: name.into(),
            source: "installed".into(),
            version: "1.0.0".into(),
            sha256: digest.to_string().repeat(64),
            capabilities: vec!["remote-exec".into(), "env:HOME".into()],
            signer: (digest == 'a').then(|| "vendor@acme.example".into()),
            signer_key: (digest == 'a').then(|| "SHA256:abc".into()),
            range: (digest == 'a').then(|| Ranged {
                requirement: "^1.4".into(),
                api: "0.2.0".into(),
                manifest: format!("sha256:{}", "c".repeat(64)),
            }),
            line: 0,
        }
    }

    #[test]
    fn written_then_read_back_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = LockFile::beside(&dir.path().join("ops.toml"));
        let mut lock = LockFile::read(&path).unwrap();
        assert!(!lock.exists);
        lock.set(entry("zeta", 'b'));
        lock.set(entry("acme-sync", 'a'));
        lock.write().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# ops.lock: written by ops"), "{text}");
        assert!(text.contains("Commit it"), "{text}");

        let back = LockFile::read(&path).unwrap();
        assert!(back.exists);
        let names: Vec<_> = back.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["acme-sync", "zeta"]);
        let acme = back.get("acme-sync").unwrap();
        assert!(
            text.contains("requirement = \"^1.4\"\napi = \"0.2.0\""),
            "{text}"
        );
        assert_eq!(back.get("zeta").unwrap().range, None);
        assert_eq!(acme.capabilities, ["remote-exec", "env:HOME"]);
        let sha_line = text
            .lines()
            .position(|l| l.starts_with("sha256 = \"aaaa"))
            .unwrap()
            + 1;
        assert_eq!(acme.line, sha_line);
        assert_eq!(
            LockEntry {
                line: 0,
                ..acme.clone()
            },
            entry("acme-sync", 'a')
        );
    }

    #[test]
    fn a_file_written_before_ranges_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.lock");
        let hex = "a".repeat(64);
        std::fs::write(
            &path,
            format!(
                "[plugins.a]\nsource = \"oci://h/a:1.0.0\"\nversion = \"1.0.0\"\n\
                 sha256 = \"{hex}\"\ncapabilities = []\n"
            ),
        )
        .unwrap();
        let lock = LockFile::read(&path).unwrap();
        assert_eq!(lock.get("a").unwrap().range, None);
        assert_eq!(lock.get("a").unwrap().sha256, hex);
    }

    #[test]
    fn a_damaged_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ops.lock");
        std::fs::write(
            &path,
            "# x\n[plugins.a]\nsource = \"installed\"\nversion = \"1\"\n",
        )
        .unwrap();
        let e = LockFile::read(&path).unwrap_err().to_string();
        assert!(e.contains("ops.lock:2: plugins.a has no `sha256`"), "{e}");
    }
}
