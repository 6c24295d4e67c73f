//! `ops plugin trust add|list|remove`: the user's allowed_signers file
//! (`$XDG_CONFIG_HOME/ops/allowed_signers`, else
//! `~/.config/ops/allowed_signers`), in OpenSSH's format so that
//! `ssh-keygen -Y verify -f` reads the same file.

use std::path::{Path, PathBuf};

use ssh_key::PublicKey;

use super::plugin_sign::write_atomic;
use crate::distribution::signing::{
    fingerprint, read_signers, revoked_path, SignError, TrustFile, TrustStore, NAMESPACE,
};
use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// What `ops plugin trust` was asked to do.
#[derive(Debug, Clone)]
pub enum PluginTrustSettings {
    Add { principal: String, key: String },
    List,
    Remove { what: String },
}

pub fn run(settings: PluginTrustSettings, printer: &Printer) -> Result<Exit, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let user = TrustFile::user_path(&env).ok_or_else(|| {
        Failure::new(
            Exit::Usage,
            anyhow::anyhow!("neither XDG_CONFIG_HOME nor HOME is set: there is no user file"),
        )
    })?;
    match settings {
        PluginTrustSettings::Add { principal, key } => add(&user, &principal, &key, printer),
        PluginTrustSettings::List => list(printer),
        PluginTrustSettings::Remove { what } => remove(&user, &what, printer),
    }
}

fn usage(message: String) -> Failure {
    Failure::new(Exit::Usage, anyhow::anyhow!(message))
}

fn add(user: &Path, principal: &str, key: &str, printer: &Printer) -> Result<Exit, Failure> {
    if principal.is_empty() || principal.contains([' ', '\t', ',', '"', '\n']) {
        return Err(usage(format!(
            "{principal:?} is not a principal: no spaces, commas or quotes (e.g. vendor@acme.example)"
        )));
    }
    let text = if key.trim_start().starts_with("ssh-")
        || key.trim_start().starts_with("ecdsa-")
        || key.trim_start().starts_with("sk-")
    {
        key.to_owned()
    } else {
        crate::local_file::read_local_text(Path::new(key), 64 << 10).map_err(|e| {
            usage(format!(
                "{key}: {e} (give a public key line or a .pub file)"
            ))
        })?
    };
    let public = PublicKey::from_openssh(text.trim())
        .map_err(|e| usage(format!("{key:.60}: not an OpenSSH public key ({e})")))?;
    let fp = fingerprint(&public);
    let existing = read_signers(user)?;
    if existing
        .iter()
        .any(|s| s.key.key_data() == public.key_data() && s.names(principal))
    {
        printer.info(format!(
            "{} already trusts {fp} for {principal}",
            user.display()
        ));
        return Ok(Exit::Success);
    }
    let line = format!(
        "{principal} namespaces=\"{NAMESPACE}\" {}\n",
        public
            .to_openssh()
            .map_err(|e| usage(format!("cannot write the key: {e}")))?
    );
    let mut content = read_or_empty(user)?;
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    content.push_str(&line);
    write(user, &content)?;
    printer.info(format!(
        "{}: trusts {fp} ({}) to sign plugins as {principal}",
        user.display(),
        public.algorithm()
    ));
    Ok(Exit::Success)
}

fn list(printer: &Printer) -> Result<Exit, Failure> {
    let env = |name: &str| std::env::var(name).ok();
    let store = TrustStore::load(TrustFile::all(None, &env))?;
    for file in store.files() {
        printer.data(&format!("# {} ({})", file.path.display(), file.origin));
        for s in store.signers().iter().filter(|s| s.file == file.path) {
            printer.data(&format!(
                "{}:{}  {}  {}{}",
                s.file.display(),
                s.line,
                s.principals.join(","),
                fingerprint(&s.key),
                if s.cert_authority {
                    "  (cert-authority: trusts no plugin)"
                } else {
                    ""
                }
            ));
        }
        for r in crate::distribution::signing::read_revoked(&revoked_path(&file.path))? {
            printer.data(&format!(
                "{}:{}  REVOKED  {}",
                r.file.display(),
                r.line,
                fingerprint(&r.key)
            ));
        }
    }
    Ok(Exit::Success)
}

fn remove(user: &Path, what: &str, printer: &Printer) -> Result<Exit, Failure> {
    let signers = read_signers(user)?;
    let gone: Vec<usize> = signers
        .iter()
        .filter(|s| fingerprint(&s.key) == what || s.principals.iter().any(|p| p == what))
        .map(|s| s.line)
        .collect();
    if gone.is_empty() {
        return Err(usage(format!(
            "{} has no line for {what:?} (a principal or a SHA256:... fingerprint); see `ops \
             plugin trust list`",
            user.display()
        )));
    }
    for s in signers.iter().filter(|s| gone.contains(&s.line)) {
        printer.info(format!(
            "{}:{}: removed {} {}",
            user.display(),
            s.line,
            s.principals.join(","),
            fingerprint(&s.key)
        ));
    }
    let text = read_or_empty(user)?;
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !gone.contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect();
    let mut content = kept.join("\n");
    content.push('\n');
    write(user, &content)?;
    Ok(Exit::Success)
}

fn read_or_empty(path: &Path) -> Result<String, Failure> {
    match crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io_error(path.to_owned(), e)),
    }
}

fn write(path: &Path, content: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir.to_owned(), e))?;
    }
    write_atomic(path, content.as_bytes()).map_err(|e| io_error(path.to_owned(), e))
}

fn io_error(path: PathBuf, e: std::io::Error) -> Failure {
    SignError::KeyFile {
        path,
        message: e.to_string(),
    }
    .into()
}
