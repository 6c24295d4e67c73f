//! `ops plugin sign FILE --key KEYFILE` and `ops plugin verify FILE`: an
//! SSH signature over a plugin file's exact bytes, written beside it as
//! `FILE.sig`, in the format `ssh-keygen -Y sign -n ops-plugin` writes.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::plugin_common::{check_component, read_file};
use crate::distribution::signing::{
    self, Checked, Found, Requirement, SignError, Subject, TrustFile, TrustStore,
};
use crate::exit::{Exit, Failure};
use crate::output::Printer;

/// What `ops plugin sign` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginSignSettings {
    pub wasm: PathBuf,
    pub key: PathBuf,
}

/// What `ops plugin verify` was asked to do.
#[derive(Debug, Clone)]
pub struct PluginVerifySettings {
    pub wasm: PathBuf,
    pub signature: Option<PathBuf>,
    pub signed_by: Option<String>,
}

pub fn sign(settings: PluginSignSettings, printer: &Printer) -> Result<Exit, Failure> {
    let bytes = read_file(&settings.wasm)?;
    check_component(&settings.wasm.display().to_string(), &bytes)?;
    let key = signing::read_private_key(&settings.key, || {
        // Asked only on a terminal: a script gets a plain error instead of
        // a prompt that waits for ever.
        std::io::stdin().is_terminal().then(|| {
            rpassword::prompt_password(format!("Passphrase for {}: ", settings.key.display()))
                .unwrap_or_default()
        })
    })?;
    let signature = signing::sign(&bytes, &key)?;
    let path = sig_path(&settings.wasm);
    write_atomic(&path, signature.armored()?.as_bytes()).map_err(|e| SignError::KeyFile {
        path: path.clone(),
        message: e.to_string(),
    })?;
    printer.info(format!(
        "signed {} with key {} ({}); wrote {}",
        settings.wasm.display(),
        signature.fingerprint(),
        key.algorithm(),
        path.display()
    ));
    printer.data(&path.display().to_string());
    Ok(Exit::Success)
}

pub fn verify(settings: PluginVerifySettings, printer: &Printer) -> Result<Exit, Failure> {
    let bytes = read_file(&settings.wasm)?;
    let path = settings
        .signature
        .clone()
        .unwrap_or_else(|| sig_path(&settings.wasm));
    let from = path.display().to_string();
    let found = match crate::local_file::read_local_text(&path, 64 << 10) {
        Ok(armored) => Some(Found {
            armored,
            from: from.clone(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Failure::new(Exit::Usage, anyhow::anyhow!("{from}: {e}"))),
    };
    let env = |name: &str| std::env::var(name).ok();
    let trust = TrustStore::load(TrustFile::all(None, &env))?;
    let what = settings.wasm.display().to_string();
    let requirement = Requirement {
        principals: settings.signed_by.into_iter().collect(),
        key: "--signed-by".into(),
        at: "ops plugin verify".into(),
    };
    let subject = Subject {
        plugin: &what,
        bytes: &bytes,
        found: found.as_ref(),
        looked: &from,
        source_at: "ops plugin verify",
    };
    match signing::check(&subject, Some(&requirement), &trust, None, None)? {
        Checked::Signed {
            principal,
            fingerprint,
        } => printer.data(&format!(
            "{what}: good signature by {} ({fingerprint})",
            principal.unwrap_or_default()
        )),
        Checked::Unsigned => {}
    }
    Ok(Exit::Success)
}

/// `FILE.sig` beside `FILE`.
fn sig_path(wasm: &Path) -> PathBuf {
    let mut name = wasm.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Through a temp file and a rename: a reader never sees half a signature.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
