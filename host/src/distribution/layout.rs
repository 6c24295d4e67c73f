//! `ops plugin mirror ./folder`: the locked plugins as an OCI image
//! layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), to carry
//! into a network without access to the vendors' registries and copy into
//! a registry there (`oras cp --from-oci-layout`, `skopeo copy oci:...`).
//! Each release is named in `index.json` by its repository path and
//! version (`org.opencontainers.image.ref.name`); its signatures are
//! signature artifacts whose `subject` is the release's manifest.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use super::fetch::copy::Pulled;
use super::fetch::oci::MANIFEST_MEDIA_TYPE;
use super::fetch::referrers::{signature_manifest, Subject, SIGNATURE_CONFIG};
use crate::domain::Digest;

const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Adds `pulled` (named `ref_name`) and its `signatures` to the layout at
/// `dir`, creating it; an entry of the same name is replaced.
pub fn add(
    dir: &Path,
    ref_name: &str,
    pulled: &Pulled,
    signatures: &[String],
    created: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    write(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    let mut entries = vec![json!({
        "mediaType": MANIFEST_MEDIA_TYPE,
        "digest": pulled.digest,
        "size": pulled.manifest.len(),
        "annotations": {REF_NAME: ref_name},
    })];
    blob(dir, &pulled.manifest)?;
    for b in &pulled.blobs {
        blob(dir, b)?;
    }
    let subject = Subject {
        digest: pulled.digest.clone(),
        size: pulled.manifest.len() as u64,
    };
    for armored in signatures {
        let manifest = signature_manifest(&subject, armored.as_bytes(), created);
        blob(dir, SIGNATURE_CONFIG)?;
        blob(dir, armored.as_bytes())?;
        let digest = blob(dir, &manifest)?;
        entries.push(json!({
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": digest,
            "size": manifest.len(),
            "artifactType": super::fetch::referrers::SIGNATURE_ARTIFACT_TYPE,
        }));
    }
    let index_path = dir.join("index.json");
    let mut index: Value = std::fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(
            || json!({"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}),
        );
    let mut manifests: Vec<Value> = index["manifests"].as_array().cloned().unwrap_or_default();
    manifests.retain(|m| m["annotations"][REF_NAME] != json!(ref_name));
    manifests.retain(|m| !entries.iter().any(|e| e["digest"] == m["digest"]));
    manifests.extend(entries);
    index["manifests"] = Value::Array(manifests);
    write(
        &index_path,
        &serde_json::to_vec_pretty(&index).unwrap_or_default(),
    )
}

/// Writes `bytes` under their digest; returns it.
fn blob(dir: &Path, bytes: &[u8]) -> std::io::Result<String> {
    let digest = Digest::of(bytes);
    let path = dir.join("blobs/sha256").join(digest.hex());
    if !path.exists() {
        write(&path, bytes)?;
    }
    Ok(digest.to_string())
}

/// Through a temp file and a rename: a reader sees the old file or the new.
fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_holds_the_release_and_its_signature() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = br#"{"schemaVersion":2}"#.to_vec();
        let pulled = Pulled {
            digest: Digest::of(&manifest).to_string(),
            manifest,
            blobs: vec![b"{}cfg".to_vec(), b"\0asm".to_vec()],
        };
        let sig = "-----BEGIN SSH SIGNATURE-----\nx\n-----END SSH SIGNATURE-----\n".to_owned();
        add(
            dir.path(),
            "acme/sync:1.4.0",
            &pulled,
            &[sig],
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        add(
            dir.path(),
            "acme/sync:1.4.0",
            &pulled,
            &[],
            "2026-01-01T00:00:00Z",
        )
        .unwrap();
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        // The release once (added again, not twice), and its signature.
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 2, "{index}");
        assert_eq!(manifests[1]["annotations"][REF_NAME], "acme/sync:1.4.0");
        assert_eq!(manifests[0]["subject"], Value::Null);
        for b in [&pulled.manifest, &pulled.blobs[0], &pulled.blobs[1]] {
            let path = dir.path().join("blobs/sha256").join(Digest::of(b).hex());
            assert_eq!(&std::fs::read(path).unwrap(), b);
        }
        assert!(dir.path().join("oci-layout").exists());
    }
}
