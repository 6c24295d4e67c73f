//! One SSH signature over a plugin's exact bytes, in OpenSSH's SSHSIG
//! format (`ssh-keygen -Y sign -n ops-plugin` makes the same, and
//! `ssh-keygen -Y verify -n ops-plugin` checks ours). The namespace keeps a
//! signature made for something else with the same key (a git commit, a
//! file) from passing as a plugin's.

use std::path::Path;

use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use super::SignError;

/// The SSHSIG namespace of plugin signatures.
pub const NAMESPACE: &str = "ops-plugin";

/// A parsed `.sig` file.
#[derive(Debug, Clone)]
pub struct PluginSignature {
    sig: SshSig,
}

impl PluginSignature {
    /// An armored signature (`-----BEGIN SSH SIGNATURE-----`); `from`
    /// names where it was read for the error.
    pub fn parse(armored: &str, from: &str) -> Result<PluginSignature, SignError> {
        let sig =
            SshSig::from_pem(armored.trim().as_bytes()).map_err(|e| SignError::Malformed {
                from: from.to_owned(),
                message: e.to_string(),
            })?;
        Ok(PluginSignature { sig })
    }

    /// The key that made it.
    pub fn key(&self) -> PublicKey {
        PublicKey::from(self.sig.public_key().clone())
    }

    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key())
    }

    /// Whether it signs exactly `bytes` under [`NAMESPACE`].
    pub fn verify(&self, bytes: &[u8]) -> Result<(), SignError> {
        if self.sig.namespace() != NAMESPACE {
            return Err(SignError::Namespace {
                found: self.sig.namespace().to_owned(),
            });
        }
        self.key()
            .verify(NAMESPACE, bytes, &self.sig)
            .map_err(|_| SignError::BadSignature)
    }

    /// The armored text, as `ssh-keygen -Y sign` writes it.
    pub fn armored(&self) -> Result<String, SignError> {
        self.sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignError::Key(e.to_string()))
    }
}

/// `SHA256:...` of `key`.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Signs `bytes` with `key` (decrypted) under [`NAMESPACE`], with SHA-512
/// as `ssh-keygen -Y sign` does.
pub fn sign(bytes: &[u8], key: &PrivateKey) -> Result<PluginSignature, SignError> {
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, bytes)
        .map_err(|e| SignError::Key(format!("cannot sign with this key: {e}")))?;
    Ok(PluginSignature { sig })
}

/// The OpenSSH private key at `path`, decrypted with what `passphrase`
/// gives when it is encrypted (asked only then).
pub fn read_private_key(
    path: &Path,
    passphrase: impl FnOnce() -> Option<String>,
) -> Result<PrivateKey, SignError> {
    let bad = |message: String| SignError::KeyFile {
        path: path.to_owned(),
        message,
    };
    let text = crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE)
        .map_err(|e| bad(e.to_string()))?;
    let key = PrivateKey::from_openssh(text.trim())
        .map_err(|e| bad(format!("not an OpenSSH private key ({e})")))?;
    if !key.is_encrypted() {
        return Ok(key);
    }
    let Some(pass) = passphrase() else {
        return Err(bad(
            "the key is encrypted and no passphrase was given (run on a terminal)".into(),
        ));
    };
    key.decrypt(pass.as_bytes())
        .map_err(|_| bad("wrong passphrase".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway test key (`ssh-keygen -t ed25519 -N ''`).
    const KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDjOxr1n6NfOGZJ6ieeTlKr4aAYUFMO5R3lS+qzsmMTyAAAAIjANPGdwDTx\nnQAAAAtzc2gtZWQyNTUxOQAAACDjOxr1n6NfOGZJ6ieeTlKr4aAYUFMO5R3lS+qzsmMTyA\nAAAEC/DIPrBhJBViDRV0DukqszOtb9Zpk4isgw0VioYQJRHeM7GvWfo184ZknqJ55OUqvh\noBhQUw7lHeVL6rOyYxPIAAAAAXQBAgME\n-----END OPENSSH PRIVATE KEY-----";
    /// `echo hello | ssh-keygen -Y sign -n git` with that key.
    const GIT_SIG: &str = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg4zsa9Z+jXzhmSeonnk5Sq+GgGF\nBTDuUd5Uvqs7JjE8gAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5\nAAAAQL5ipay/f+5Uc0OA3+WE20VV9JbqNHYwUDx40XBvcJl9jn/A4py6M0DG8J2db3Jeao\nGLiPZx/GDcfi37spcoTQ4=\n-----END SSH SIGNATURE-----";

    #[test]
    fn signs_verifies_and_refuses_changed_bytes() {
        let key = PrivateKey::from_openssh(KEY).unwrap();
        let sig = sign(b"\0asm plugin", &key).unwrap();
        let armored = sig.armored().unwrap();
        assert!(
            armored.starts_with("-----BEGIN SSH SIGNATURE-----"),
            "{armored}"
        );
        let back = PluginSignature::parse(&armored, "x.sig").unwrap();
        back.verify(b"\0asm plugin").unwrap();
        assert_eq!(back.fingerprint(), fingerprint(key.public_key()));
        assert!(back.fingerprint().starts_with("SHA256:"));
        let e = back.verify(b"\0asm plugin!").unwrap_err().to_string();
        assert_eq!(e, "the signature does not match the bytes");
        let e = PluginSignature::parse("junk", "x.sig")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.sig is not an SSH signature"), "{e}");
    }

    #[test]
    fn another_namespace_is_refused() {
        let sig = PluginSignature::parse(GIT_SIG, "m.sig").unwrap();
        let e = sig.verify(b"hello\n").unwrap_err().to_string();
        assert!(e.contains("namespace \"git\", not \"ops-plugin\""), "{e}");
    }
}
