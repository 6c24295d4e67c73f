//! OpenSSH `allowed_signers` files (see ssh-keygen(1), "ALLOWED SIGNERS"):
//! `principals [options] keytype base64 [comment]`, with the options
//! `namespaces="..."`, `valid-after=`, `valid-before=` and
//! `cert-authority`, and the revoked-keys file beside each (one public key
//! a line). The same files `ssh-keygen -Y verify -f` reads.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ssh_key::PublicKey;

use super::sig::NAMESPACE;
use super::SignError;

/// One key line of an allowed_signers file.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Principal patterns (`*` and `?` match), as written.
    pub principals: Vec<String>,
    pub key: PublicKey,
    /// `namespaces="..."`; `None`: every namespace.
    pub namespaces: Option<Vec<String>>,
    pub valid_after: Option<SystemTime>,
    pub valid_before: Option<SystemTime>,
    /// A `cert-authority` line trusts certificates it signed, which plugin
    /// signatures never carry: such a line trusts no plugin.
    pub cert_authority: bool,
    pub file: PathBuf,
    pub line: usize,
}

impl Signer {
    /// Whether this line trusts its key for plugin signatures now.
    pub fn usable(&self, now: SystemTime) -> bool {
        !self.cert_authority
            && self
                .namespaces
                .as_ref()
                .is_none_or(|n| n.iter().any(|n| pattern_matches(n, NAMESPACE)))
            && self.valid_after.is_none_or(|t| now >= t)
            && self.valid_before.is_none_or(|t| now < t)
    }

    /// Whether one of its principal patterns matches `principal`.
    pub fn names(&self, principal: &str) -> bool {
        self.principals
            .iter()
            .any(|p| pattern_matches(p, principal))
    }
}

/// One key line of a revoked-keys file.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub key: PublicKey,
    pub file: PathBuf,
    pub line: usize,
}

/// The signers of `path` (none when it does not exist).
pub fn read_signers(path: &Path) -> Result<Vec<Signer>, SignError> {
    let mut out = Vec::new();
    for (line, text) in lines_of(path)? {
        let signer = parse_signer(&text, path, line).map_err(|message| SignError::TrustFile {
            path: path.to_owned(),
            line,
            message,
        })?;
        out.push(signer);
    }
    Ok(out)
}

/// The keys of the revoked-keys file `path` (none when it does not exist).
/// A line may be a bare public key or an allowed_signers line.
pub fn read_revoked(path: &Path) -> Result<Vec<Revoked>, SignError> {
    let mut out = Vec::new();
    for (line, text) in lines_of(path)? {
        let key = match PublicKey::from_openssh(&text) {
            Ok(key) => key,
            Err(_) => {
                parse_signer(&text, path, line)
                    .map_err(|message| SignError::TrustFile {
                        path: path.to_owned(),
                        line,
                        message,
                    })?
                    .key
            }
        };
        out.push(Revoked {
            key,
            file: path.to_owned(),
            line,
        });
    }
    Ok(out)
}

/// The revoked-keys file that goes with the allowed_signers file `path`.
pub fn revoked_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".revoked");
    PathBuf::from(name)
}

/// (line number, text) of every line that is not blank or a comment.
fn lines_of(path: &Path) -> Result<Vec<(usize, String)>, SignError> {
    let text = match crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(SignError::TrustFile {
                path: path.to_owned(),
                line: 0,
                message: e.to_string(),
            })
        }
    };
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_owned()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

fn parse_signer(text: &str, file: &Path, line: usize) -> Result<Signer, String> {
    let mut fields = split_fields(text).into_iter();
    let principals = fields.next().ok_or("an empty line")?;
    let mut next = fields.next().ok_or("no key after the principals")?;
    let mut options = Vec::new();
    if !is_key_type(&next) {
        options = split_options(&next);
        next = fields.next().ok_or("no key after the options")?;
    }
    let blob = fields.next().ok_or("no key data after the key type")?;
    let key = PublicKey::from_openssh(&format!("{next} {blob}"))
        .map_err(|e| format!("`{next} {blob:.20}...` is not a public key ({e})"))?;
    let mut signer = Signer {
        principals: principals
            .trim_matches('"')
            .split(',')
            .map(str::to_owned)
            .collect(),
        key,
        namespaces: None,
        valid_after: None,
        valid_before: None,
        cert_authority: false,
        file: file.to_owned(),
        line,
    };
    for option in options {
        let (name, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
        let value = value.trim_matches('"');
        match name.to_ascii_lowercase().as_str() {
            "cert-authority" => signer.cert_authority = true,
            "namespaces" => signer.namespaces = Some(value.split(',').map(str::to_owned).collect()),
            "valid-after" => signer.valid_after = Some(parse_time(value)?),
            "valid-before" => signer.valid_before = Some(parse_time(value)?),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(signer)
}

fn is_key_type(field: &str) -> bool {
    ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"]
        .iter()
        .any(|p| field.starts_with(p))
}

/// Fields split at whitespace outside double quotes.
fn split_fields(text: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                field.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !field.is_empty() {
                    out.push(std::mem::take(&mut field));
                }
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() {
        out.push(field);
    }
    out
}

/// Options split at commas outside double quotes.
fn split_options(text: &str) -> Vec<String> {
    let (mut out, mut item, mut quoted) = (Vec::new(), String::new(), false);
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                item.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut item)),
            c => item.push(c),
        }
    }
    out.push(item);
    out
}

/// `YYYYMMDD[HHMM[SS]][Z]`, read as UTC.
fn parse_time(value: &str) -> Result<SystemTime, String> {
    let digits = value.trim_end_matches(['Z', 'z']);
    let bad = || format!("{value:?} is not a time (YYYYMMDD[HHMM[SS]])");
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let part = |from: usize, to: usize| digits.get(from..to).unwrap_or("00");
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        part(0, 4),
        part(4, 6),
        part(6, 8),
        part(8, 10),
        part(10, 12),
        part(12, 14)
    );
    humantime::parse_rfc3339(&rfc).map_err(|_| bad())
}

/// OpenSSH's pattern match: `*` any run, `?` one character.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOM7GvWfo184ZknqJ55OUqvhoBhQUw7lHeVL6rOyYxPI";

    #[test]
    fn lines_with_options_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allowed_signers");
        std::fs::write(
            &path,
            format!(
                "# vendors\n\nvendor@acme.example,*@ci.acme.example {KEY} a comment\n\
                 other@x namespaces=\"git,file\" {KEY}\n\
                 ca@x cert-authority {KEY}\n\
                 old@x valid-before=\"20200101\",valid-after=20190101Z {KEY}\n"
            ),
        )
        .unwrap();
        let signers = read_signers(&path).unwrap();
        assert_eq!(signers.len(), 4);
        let now = SystemTime::now();
        assert_eq!(signers[0].line, 3);
        assert!(signers[0].usable(now));
        assert!(signers[0].names("vendor@acme.example"));
        assert!(signers[0].names("bot@ci.acme.example"));
        assert!(!signers[0].names("vendor@evil.example"));
        assert!(!signers[1].usable(now), "namespaces without ops-plugin");
        assert!(!signers[2].usable(now), "cert-authority");
        assert!(!signers[3].usable(now), "expired");
        assert!(read_signers(&dir.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("allowed_signers");
        std::fs::write(&path, "# x\nvendor@acme ssh-ed25519 AAAAnotakey\n").unwrap();
        let e = read_signers(&path).unwrap_err().to_string();
        assert!(e.contains("allowed_signers:2:"), "{e}");
        std::fs::write(&path, format!("v@x bogus=1 {KEY}\n")).unwrap();
        let e = read_signers(&path).unwrap_err().to_string();
        assert!(
            e.contains(":1:") && e.contains("unknown option `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn revoked_files_take_bare_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = revoked_path(&dir.path().join("allowed_signers"));
        assert!(path.ends_with("allowed_signers.revoked"));
        std::fs::write(&path, format!("{KEY} lost laptop\nv@x {KEY}\n")).unwrap();
        let revoked = read_revoked(&path).unwrap();
        assert_eq!(revoked.len(), 2);
        assert_eq!(revoked[1].line, 2);
    }
}
