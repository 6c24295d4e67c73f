//! A plugin's signature in its OCI repository: an artifact whose `subject`
//! is the plugin's manifest (an OCI 1.1 referrer), found through the
//! referrers API or, on registries without it, through the referrers tag
//! `sha256-<hex>` (an image index the pusher keeps up to date), as the
//! distribution spec's fallback says.

use serde_json::{json, Value};

use super::client::{Client, Method};
use super::oci::{digest_of, expect_status, upload_blob, MANIFEST_MEDIA_TYPE};
use super::reference::Reference;
use super::FetchError;

/// The `artifactType` of a plugin signature.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.ops.plugin.signature.v1";
/// Its one layer: the armored SSH signature.
pub const SIGNATURE_MEDIA_TYPE: &str = "application/vnd.ops.plugin.signature.v1+sshsig";
const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// A signature is a few hundred bytes; a bigger "signature" is not read.
const MAX_SIGNATURE: u64 = 64 << 10;

/// The manifest a signature refers to.
#[derive(Debug, Clone)]
pub struct Subject {
    pub digest: String,
    pub size: u64,
}

/// Publishes `armored` as a signature of `subject`; returns the
/// signature manifest's digest.
pub fn push_signature(
    client: &mut Client,
    reference: &Reference,
    subject: &Subject,
    armored: &[u8],
    created: &str,
) -> Result<String, FetchError> {
    upload_blob(client, reference, SIGNATURE_CONFIG)?;
    upload_blob(client, reference, armored)?;
    let manifest = signature_manifest(subject, armored, created);
    let digest = digest_of(&manifest);
    let repo = &reference.repository;
    let url = client.url(&format!("/v2/{repo}/manifests/{digest}"));
    let answer = client.send(
        Method::Put,
        &url,
        &[("Content-Type", MANIFEST_MEDIA_TYPE)],
        Some(&manifest),
    )?;
    expect_status(reference, &answer, 201)?;
    // A registry with the referrers API says so with OCI-Subject; any
    // other needs the referrers tag.
    if answer.header("oci-subject").is_none() {
        add_to_tag_index(client, reference, subject, &digest, manifest.len())?;
    }
    Ok(digest)
}

/// The config of a signature artifact: the empty JSON object.
pub const SIGNATURE_CONFIG: &[u8] = b"{}";

/// The manifest of a signature artifact for `subject`: one layer, the
/// armored signature.
pub fn signature_manifest(subject: &Subject, armored: &[u8], created: &str) -> Vec<u8> {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": digest_of(SIGNATURE_CONFIG), "size": 2},
        "layers": [{
            "mediaType": SIGNATURE_MEDIA_TYPE,
            "digest": digest_of(armored),
            "size": armored.len(),
        }],
        "subject": {"mediaType": MANIFEST_MEDIA_TYPE, "digest": subject.digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.created": created},
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

fn tag_of(subject_digest: &str) -> String {
    subject_digest.replace(':', "-")
}

fn add_to_tag_index(
    client: &mut Client,
    reference: &Reference,
    subject: &Subject,
    digest: &str,
    size: usize,
) -> Result<(), FetchError> {
    let repo = &reference.repository;
    let url = client.url(&format!("/v2/{repo}/manifests/{}", tag_of(&subject.digest)));
    let answer = client.send(Method::Get, &url, &[("Accept", INDEX_MEDIA_TYPE)], None)?;
    let mut index = match answer.status {
        404 => json!({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}),
        _ => {
            expect_status(reference, &answer, 200)?;
            serde_json::from_slice(&answer.body).unwrap_or_else(
                |_| json!({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}),
            )
        }
    };
    let entry = json!({
        "mediaType": MANIFEST_MEDIA_TYPE,
        "digest": digest,
        "size": size,
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
    });
    if !index["manifests"].is_array() {
        index["manifests"] = json!([]);
    }
    if let Some(list) = index["manifests"].as_array_mut() {
        if list.iter().any(|m| m["digest"] == digest) {
            return Ok(());
        }
        list.push(entry);
    }
    let body = serde_json::to_vec(&index).unwrap_or_default();
    let answer = client.send(
        Method::Put,
        &url,
        &[("Content-Type", INDEX_MEDIA_TYPE)],
        Some(&body),
    )?;
    expect_status(reference, &answer, 201)
}

/// The armored signatures that refer to the manifest `subject` (newest
/// last, as the index lists them).
pub fn pull_signatures(
    client: &mut Client,
    reference: &Reference,
    subject: &str,
) -> Result<Vec<Vec<u8>>, FetchError> {
    let repo = &reference.repository;
    let url = client.url(&format!("/v2/{repo}/referrers/{subject}"));
    let mut answer = client.send(Method::Get, &url, &[("Accept", INDEX_MEDIA_TYPE)], None)?;
    if answer.status == 404 {
        let url = client.url(&format!("/v2/{repo}/manifests/{}", tag_of(subject)));
        answer = client.send(Method::Get, &url, &[("Accept", INDEX_MEDIA_TYPE)], None)?;
        if answer.status == 404 {
            return Ok(Vec::new());
        }
    }
    expect_status(reference, &answer, 200)?;
    let index: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let mut out = Vec::new();
    for entry in index["manifests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if entry["artifactType"] != SIGNATURE_ARTIFACT_TYPE {
            continue;
        }
        let Some(digest) = entry["digest"].as_str() else {
            continue;
        };
        if let Some(sig) = signature_of(client, reference, digest)? {
            out.push(sig);
        }
    }
    Ok(out)
}

/// The signature layer of the signature manifest `digest`.
fn signature_of(
    client: &mut Client,
    reference: &Reference,
    digest: &str,
) -> Result<Option<Vec<u8>>, FetchError> {
    let repo = &reference.repository;
    let url = client.url(&format!("/v2/{repo}/manifests/{digest}"));
    let answer = client.send(Method::Get, &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
    expect_status(reference, &answer, 200)?;
    if digest_of(&answer.body) != digest {
        return Ok(None);
    }
    let manifest: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let layer = &manifest["layers"][0];
    let (Some(blob), Some(size)) = (layer["digest"].as_str(), layer["size"].as_u64()) else {
        return Ok(None);
    };
    if layer["mediaType"] != SIGNATURE_MEDIA_TYPE || size > MAX_SIGNATURE {
        return Ok(None);
    }
    let url = client.url(&format!("/v2/{repo}/blobs/{blob}"));
    let answer = client.send(Method::Get, &url, &[], None)?;
    expect_status(reference, &answer, 200)?;
    // A blob that is not what its digest says is dropped, not trusted:
    // the signature check would refuse it anyway, with a worse message.
    Ok((digest_of(&answer.body) == blob).then_some(answer.body))
}

/// The digest and size of the manifest `reference` names now.
pub fn manifest_of(
    client: &mut Client,
    reference: &Reference,
) -> Result<Option<Subject>, FetchError> {
    let repo = &reference.repository;
    let url = client.url(&format!(
        "/v2/{repo}/manifests/{}",
        reference.manifest_reference()
    ));
    let answer = client.send(Method::Get, &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
    if answer.status != 200 {
        // A digest that names the component blob has no manifest here.
        return Ok(None);
    }
    Ok(Some(Subject {
        digest: digest_of(&answer.body),
        size: answer.body.len() as u64,
    }))
}
