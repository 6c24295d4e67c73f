//! Getting a plugin's bytes from where it is published: `https://` URLs
//! (plain `http://` only to a loopback host) and OCI registries
//! (`oci://host[:port]/repo[:tag][@sha256:...]`), and publishing to a
//! registry. Used by `ops plugin install`/`push` and by `[plugins.<name>]`
//! `url`/`oci` in `ops.toml`.
//!
//! Registry credentials come from the user's Docker config, as
//! `docker login` leaves it ([`docker_auth`]). Nothing here logs or passes
//! a secret on a command line.

mod challenge;
mod client;
pub mod copy;
pub mod docker_auth;
pub mod https;
mod manifest;
pub mod oci;
mod reference;
pub mod referrers;
pub mod tags;

use super::signing::Found;
use crate::exit::{Exit, ExitStatusOf};

/// Why a plugin could not be fetched or published.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{source_text}`: {message}")]
    BadSource {
        source_text: String,
        message: String,
    },
    #[error(
        "{url}: plain http:// is allowed only to this machine (localhost, 127.0.0.0/8, ::1), \
         not to `{host}`; use https://"
    )]
    PlainHttp { url: String, host: String },
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the answer is larger than the limit of {} MiB", limit / (1024 * 1024))]
    TooLarge { url: String, limit: u64 },
    #[error("{config_path}: {message}")]
    DockerConfig {
        config_path: String,
        message: String,
    },
    #[error("credential helper {program}: {message}")]
    Helper { program: String, message: String },
    #[error(
        "registry {registry} refused the credentials of user `{username}` (from {config}); \
         check them with `docker login {registry}`"
    )]
    Unauthorized {
        registry: String,
        username: String,
        config: String,
    },
    #[error(
        "registry {registry} asks for credentials and {config} has none for it; \
         run `docker login {registry}`"
    )]
    NoCredentials { registry: String, config: String },
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    #[error("{reference}: not found in the registry ({message})")]
    NotFound { reference: String, message: String },
    #[error("{reference} is not a wasm plugin artifact: {message}")]
    NotAPlugin { reference: String, message: String },
    #[error(
        "{reference} already names {what} (manifest {digest}); nothing was pushed. Push to \
         another tag, or move this one with `ops plugin push --force`"
    )]
    TagTaken {
        reference: String,
        digest: String,
        what: String,
    },
    #[error("{what} has digest {actual}, expected {expected}")]
    Digest {
        what: String,
        expected: String,
        actual: String,
    },
}

impl ExitStatusOf for FetchError {
    fn exit(&self) -> Exit {
        match self {
            FetchError::BadSource { .. }
            | FetchError::PlainHttp { .. }
            | FetchError::DockerConfig { .. }
            | FetchError::NotFound { .. }
            | FetchError::NotAPlugin { .. }
            | FetchError::TagTaken { .. } => Exit::Usage,
            FetchError::Transport { .. }
            | FetchError::Status { .. }
            | FetchError::TooLarge { .. } => Exit::Internal,
            FetchError::Helper { .. }
            | FetchError::Unauthorized { .. }
            | FetchError::NoCredentials { .. }
            | FetchError::Registry { .. }
            | FetchError::Digest { .. } => Exit::Push,
        }
    }
}

/// The bytes published at `source`: `https://...` (or `http://` to a
/// loopback host) or `oci://...`. Blocking; call it off the async
/// runtime's worker threads.
pub fn fetch(source: &str) -> Result<Vec<u8>, FetchError> {
    if source.starts_with("oci://") {
        let reference = oci::Reference::parse(source)?;
        return oci::pull(&reference);
    }
    if source.starts_with("https://") || source.starts_with("http://") {
        return https::get(source);
    }
    Err(FetchError::BadSource {
        source_text: source.to_owned(),
        message: "expected https://URL or oci://HOST/REPOSITORY[:TAG]".into(),
    })
}

/// The signatures published with `source`, and where they were looked
/// for: `URL.sig` beside an https plugin, the referrers of an OCI
/// plugin's manifest (newest last). Empty when there are none.
pub fn signature(source: &str) -> Result<(Vec<Found>, String), FetchError> {
    if source.starts_with("oci://") {
        let reference = oci::Reference::parse(source)?;
        let mut client = client::Client::new(&reference.registry, &reference.repository, false);
        let looked = format!("the signature referrers of {reference}");
        let Some(subject) = referrers::manifest_of(&mut client, &reference)? else {
            return Ok((Vec::new(), looked));
        };
        let found = referrers::pull_signatures(&mut client, &reference, &subject.digest)?
            .into_iter()
            .map(|bytes| Found {
                armored: String::from_utf8_lossy(&bytes).into_owned(),
                from: format!("{reference} (signature referrer of {})", subject.digest),
            })
            .collect();
        return Ok((found, looked));
    }
    let url = format!("{source}.sig");
    match https::get(&url) {
        // Servers that answer every path (a fallback page, or the plugin
        // itself) have no signature there; a required one is still missing.
        Ok(bytes)
            if !bytes
                .trim_ascii_start()
                .starts_with(b"-----BEGIN SSH SIGNATURE-----") =>
        {
            Ok((Vec::new(), url))
        }
        Ok(bytes) => {
            let armored = String::from_utf8_lossy(&bytes).into_owned();
            let found = Found {
                armored,
                from: url.clone(),
            };
            Ok((vec![found], url))
        }
        Err(FetchError::Status { status: 404, .. }) => Ok((Vec::new(), url)),
        Err(e) => Err(e),
    }
}

/// Publishes `armored` as the signature of the plugin manifest
/// `reference@manifest_digest` (an OCI 1.1 referrer, with the referrers
/// tag for registries without the API). Blocking.
pub fn push_signature(
    reference: &oci::Reference,
    manifest_digest: &str,
    armored: &[u8],
    created: &str,
) -> Result<String, FetchError> {
    let mut client = client::Client::new(&reference.registry, &reference.repository, true);
    let pinned = oci::Reference {
        tag: None,
        digest: Some(manifest_digest.to_owned()),
        ..reference.clone()
    };
    let subject =
        referrers::manifest_of(&mut client, &pinned)?.ok_or_else(|| FetchError::NotFound {
            reference: pinned.to_string(),
            message: "the manifest just pushed is not there".into(),
        })?;
    referrers::push_signature(&mut client, reference, &subject, armored, created)
}
