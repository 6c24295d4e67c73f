//! User certificates, found as `ssh` finds them: `<identity>-cert.pub`
//! beside an identity file, and every `CertificateFile` whose certified key
//! is that identity's key.

use std::path::{Path, PathBuf};

use russh::keys::{Certificate, PublicKey};

/// Certificates for the key loaded from `identity`, with where each came
/// from. Unreadable or malformed certificate files are reported in
/// `problems` and skipped: the plain key is still tried.
pub fn certificates_for(
    key: &PublicKey,
    identity: &Path,
    certificate_files: &[PathBuf],
    problems: &mut Vec<String>,
) -> Vec<(PathBuf, Certificate)> {
    let mut beside = identity.as_os_str().to_owned();
    beside.push("-cert.pub");
    let beside = PathBuf::from(beside);
    let mut out: Vec<(PathBuf, Certificate)> = Vec::new();
    let candidates =
        std::iter::once((beside, false)).chain(certificate_files.iter().map(|p| (p.clone(), true)));
    for (path, configured) in candidates {
        if out.iter().any(|(p, _)| *p == path) {
            continue;
        }
        if !path.exists() {
            if configured {
                problems.push(format!("CertificateFile {} does not exist", path.display()));
            }
            continue;
        }
        let cert = match crate::local_file::read_local_text(&path, crate::local_file::MAX_TEXT_FILE)
            .map_err(|e| e.to_string())
            .and_then(|text| Certificate::from_openssh(text.trim()).map_err(|e| e.to_string()))
        {
            Ok(cert) => cert,
            Err(err) => {
                problems.push(format!("cannot read certificate {}: {err}", path.display()));
                continue;
            }
        };
        if cert.public_key() == key.key_data() {
            out.push((path, cert));
        } else if !configured {
            problems.push(format!(
                "{} does not certify the key in {}",
                path.display(),
                identity.display()
            ));
        }
    }
    out
}
