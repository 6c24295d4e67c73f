//! known_hosts files read the way OpenSSH's `hostfile.c` reads them:
//! optional `@cert-authority` / `@revoked` marker, a host field that is
//! either a hashed name (`|1|salt|hash`) or a comma list of patterns with
//! `*`, `?` and `!` negation, then the key.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::PublicKey;
use sha1::Sha1;

use super::pattern::{match_list, ListMatch};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A host key.
    Key,
    /// `@cert-authority`: a CA whose host certificates are trusted.
    CertAuthority,
    /// `@revoked`: this key is never trusted, whatever else vouches for it.
    Revoked,
}

/// One line whose host field matched the name looked up.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: PathBuf,
    pub line: usize,
    pub marker: Marker,
    pub key: PublicKey,
}

/// The name OpenSSH looks a host up under: `host` for port 22,
/// `[host]:port` otherwise, lowercased.
pub fn lookup_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// Every entry in `files` that matches `name` (from [`lookup_name`]).
/// Unreadable files and malformed lines are skipped, as OpenSSH skips them:
/// they vouch for nothing, so skipping cannot make a key trusted.
pub fn matching(name: &str, files: &[PathBuf]) -> Vec<Entry> {
    let mut out = Vec::new();
    for file in files {
        if let Ok(text) = crate::local_file::read_local_text(file, crate::local_file::MAX_TEXT_FILE)
        {
            out.extend(parse_matching(name, file, &text));
        }
    }
    out
}

pub fn parse_matching(name: &str, file: &Path, text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Some((marker, key)) = parse_line(name, line) {
            out.push(Entry {
                file: file.to_path_buf(),
                line: index + 1,
                marker,
                key,
            });
        }
    }
    out
}

fn parse_line(name: &str, line: &str) -> Option<(Marker, PublicKey)> {
    let line = line.trim_start();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@cert-authority" => Marker::CertAuthority,
        "@revoked" => Marker::Revoked,
        // An unknown marker makes the whole line invalid (hostfile.c
        // MRK_ERROR), rather than the marker being taken as a host field.
        m if m.starts_with('@') => return None,
        _ => Marker::Key,
    };
    if marker != Marker::Key {
        first = fields.next()?;
    }
    if !host_field_matches(name, first) {
        return None;
    }
    let _algorithm = fields.next()?;
    let key = russh::keys::parse_public_key_base64(fields.next()?).ok()?;
    Some((marker, key))
}

/// `match_maybe_hashed`: a hashed field is one name; a plain field is a
/// pattern list in which a negated match means "not this line".
pub fn host_field_matches(name: &str, field: &str) -> bool {
    match field.strip_prefix("|1|") {
        Some(hashed) => hashed_matches(name, hashed),
        None => match_list(name, field, true) == ListMatch::Yes,
    }
}

fn hashed_matches(name: &str, salt_and_hash: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    // verify_slice compares in constant time.
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMPVdz56NNlAMbaJqntm0z/QPIWzjNfGplvPg+FARqvw";

    fn hits(name: &str, text: &str) -> Vec<(usize, Marker)> {
        parse_matching(name, Path::new("kh"), text)
            .into_iter()
            .map(|e| (e.line, e.marker))
            .collect()
    }

    #[test]
    fn patterns_lists_negation_and_ports() {
        let text = format!(
            "*.corp.example,!bastion.corp.example {KEY}\n\
             [10.0.0.*]:2222 {KEY}\n\
             node? {KEY}\n\
             # *.corp.example {KEY}\n\
             @cert-authority *.corp.example {KEY}\n\
             @revoked * {KEY}\n\
             @bogus * {KEY}\n\
             10.0.0.5 {KEY}\n"
        );
        use Marker::*;
        assert_eq!(
            hits("build.corp.example", &text),
            vec![(1, Key), (5, CertAuthority), (6, Revoked)]
        );
        assert_eq!(
            hits("bastion.corp.example", &text),
            vec![(5, CertAuthority), (6, Revoked)]
        );
        assert_eq!(hits("[10.0.0.7]:2222", &text), vec![(2, Key), (6, Revoked)]);
        // Port 22 is looked up without brackets, so `[..]:2222` cannot match.
        assert_eq!(hits("10.0.0.5", &text), vec![(6, Revoked), (8, Key)]);
        assert_eq!(hits("node1", &text), vec![(3, Key), (6, Revoked)]);
        assert_eq!(hits("node12", &text), vec![(6, Revoked)]);
        assert_eq!(lookup_name("Build.Corp", 22), "build.corp");
        assert_eq!(lookup_name("10.0.0.7", 2222), "[10.0.0.7]:2222");
        assert!(host_field_matches("build.corp", "BUILD.corp"));
    }

    #[test]
    fn hashed_entries() {
        // `ssh-keygen -H` output for "[127.0.0.1]:2222" with a fixed salt.
        let salt = [7u8; 20];
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt)
            .unwrap()
            .chain_update(b"[127.0.0.1]:2222")
            .finalize()
            .into_bytes();
        let field = format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(mac));
        assert!(host_field_matches("[127.0.0.1]:2222", &field));
        assert!(!host_field_matches("127.0.0.1", &field));
        // A hashed field is one name, never a pattern list.
        assert!(!host_field_matches(
            "[127.0.0.1]:2222",
            &format!("{field},x")
        ));
        assert!(!host_field_matches("x", "|1|garbage"));
    }

    /// `ssh-keygen -F NAME -f FILE` is OpenSSH's own hostfile.c lookup:
    /// the lines it reports (with CA / REVOKED markers) must be ours.
    fn openssh_lookup(file: &Path, name: &str) -> Vec<(usize, Marker)> {
        let out = std::process::Command::new("ssh-keygen")
            .args(["-F", name, "-f"])
            .arg(file)
            .output()
            .expect("ssh-keygen runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("# Host {name} found: line ")))
            .map(|rest| {
                let mut words = rest.split_whitespace();
                let line = words.next().unwrap().parse().unwrap();
                let marker = match words.next() {
                    Some("CA") => Marker::CertAuthority,
                    Some("REVOKED") => Marker::Revoked,
                    _ => Marker::Key,
                };
                (line, marker)
            })
            .collect()
    }

    #[test]
    fn matches_what_ssh_keygen_finds() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(
            &plain,
            format!(
                "*.corp.example,!bastion.corp.example {KEY}\n\
                 [10.0.0.*]:2222 {KEY}\n\
                 [10.0.0.?]:* {KEY}\n\
                 node? {KEY}\n\
                 # *.corp.example {KEY}\n\
                 @cert-authority *.corp.example {KEY}\n\
                 @revoked * {KEY}\n\
                 @bogus * {KEY}\n\
                 10.0.0.5 {KEY}\n\
                 BUILD.corp.example {KEY}\n\
                 !x,* {KEY}\n\
                 a*b?c {KEY}\n\
                 \n   build.corp.example {KEY}\n"
            ),
        )
        .unwrap();
        let hashed = dir.path().join("hashed");
        std::fs::write(
            &hashed,
            format!(
                "build.corp.example {KEY}\n[10.0.0.7]:2222 {KEY}\nnode1 {KEY}\n\
                 @revoked node1 {KEY}\n"
            ),
        )
        .unwrap();
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-H", "-f"])
            .arg(&hashed)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let hashed_text = std::fs::read_to_string(&hashed).unwrap();
        assert!(hashed_text.starts_with("|1|"), "{hashed_text}");
        let names = [
            "build.corp.example",
            "bastion.corp.example",
            "Build.Corp.Example",
            "[10.0.0.7]:2222",
            "[10.0.0.7]:22",
            "[10.0.0.17]:2222",
            "10.0.0.5",
            "node1",
            "node12",
            "x",
            "aXXbYc",
            "abc",
        ];
        let mut compared = 0;
        for file in [&plain, &hashed] {
            let text = std::fs::read_to_string(file).unwrap();
            for name in names {
                // ssh lowercases the host name before looking it up (a
                // hashed entry is an HMAC of the exact bytes), so the
                // lowercased name is what ssh-keygen is asked about.
                let name = name.to_ascii_lowercase();
                let ours = hits(&name, &text);
                assert_eq!(
                    ours,
                    openssh_lookup(file, &name),
                    "{name} in {}",
                    file.display()
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 2 * names.len());
    }
}
