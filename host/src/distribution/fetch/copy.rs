//! Copying one plugin release from a registry to another (a mirror): its
//! manifest byte for byte (so its digest, which ops.lock may pin, stays
//! the same), its config and component blobs, and its signatures as
//! referrers of the copy.

use super::client::{Client, Method};
use super::manifest::check_manifest;
use super::oci::{digest_of, expect_status, upload_blob, MANIFEST_MEDIA_TYPE};
use super::reference::Reference;
use super::FetchError;

/// A release as the registry serves it, every digest checked.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest's bytes, as served.
    pub manifest: Vec<u8>,
    /// Their digest.
    pub digest: String,
    /// The config, then the component.
    pub blobs: Vec<Vec<u8>>,
}

/// Copies the manifest `from` names, with its blobs, to `to` (tagged when
/// `to` has a tag); returns the manifest digest.
pub fn release(from: &Reference, to: &Reference) -> Result<String, FetchError> {
    let pulled = pull_release(from)?;
    let mut target = Client::new(&to.registry, &to.repository, true);
    for blob in &pulled.blobs {
        upload_blob(&mut target, to, blob)?;
    }
    let reference = to.tag.clone().unwrap_or_else(|| pulled.digest.clone());
    let url = target.url(&format!("/v2/{}/manifests/{reference}", to.repository));
    let put = target.send(
        Method::Put,
        &url,
        &[("Content-Type", MANIFEST_MEDIA_TYPE)],
        Some(&pulled.manifest),
    )?;
    expect_status(to, &put, 201)?;
    Ok(pulled.digest)
}

/// The manifest `from` names and its blobs, checked for the plugin
/// artifact shape and every digest.
pub fn pull_release(from: &Reference) -> Result<Pulled, FetchError> {
    let mut source = Client::new(&from.registry, &from.repository, false);
    let url = source.url(&format!(
        "/v2/{}/manifests/{}",
        from.repository,
        from.manifest_reference()
    ));
    let answer = source.send(Method::Get, &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
    expect_status(from, &answer, 200)?;
    let digest = digest_of(&answer.body);
    if let Some(expected) = from.digest.as_ref().filter(|d| **d != digest) {
        return Err(FetchError::Digest {
            what: format!("the manifest of {from}"),
            expected: expected.clone(),
            actual: digest,
        });
    }
    check_manifest(from, &answer)?;
    let manifest: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let config = manifest["config"]["digest"].as_str().unwrap_or_default();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap_or_default();
    let mut blobs = Vec::new();
    for blob_digest in [config, layer] {
        let url = source.url(&format!("/v2/{}/blobs/{blob_digest}", from.repository));
        let blob = source.send(Method::Get, &url, &[], None)?;
        expect_status(from, &blob, 200)?;
        if digest_of(&blob.body) != blob_digest {
            return Err(FetchError::Digest {
                what: format!("a blob of {from}"),
                expected: blob_digest.to_owned(),
                actual: digest_of(&blob.body),
            });
        }
        blobs.push(blob.body);
    }
    Ok(Pulled {
        manifest: answer.body,
        digest,
        blobs,
    })
}
