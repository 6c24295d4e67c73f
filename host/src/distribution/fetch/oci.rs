//! Plugins as OCI artifacts, in the CNCF "wasm OCI artifact" layout: an
//! image manifest whose config has media type
//! `application/vnd.wasm.config.v0+json` and whose one layer is the
//! component, `application/wasm`.

use crate::domain::Digest;
use serde_json::{json, Value};

use super::client::{Answer, Client, Method};
use super::manifest::{bad_manifest, check_manifest};
pub use super::reference::Reference;
use super::FetchError;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Asked for besides [`MANIFEST_MEDIA_TYPE`] when looking at what a tag
/// names, so that the registry answers whatever it holds there.
const OTHER_MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// What is published besides the component's bytes; `plugin` (API version, capabilities) lets a range pick a release unread.
#[derive(Debug, Clone)]
pub struct Artifact<'a> {
    pub wasm: &'a [u8],
    pub plugin: Value,
    pub name: &'a str,
    pub version: &'a str,
    /// The component's imports and exports, for the config's `component`.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// RFC 3339.
    pub created: String,
}

pub(super) fn digest_of(bytes: &[u8]) -> String {
    Digest::of(bytes).to_string()
}

/// The component that `reference` names, its manifest checked for the
/// wasm artifact shape and its bytes for the layer's digest.
pub fn pull(reference: &Reference) -> Result<Vec<u8>, FetchError> {
    let mut client = Client::new(&reference.registry, &reference.repository, false);
    let path = format!(
        "/v2/{}/manifests/{}",
        reference.repository,
        reference.manifest_reference()
    );
    let url = client.url(&path);
    let answer = client.send(Method::Get, &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
    if answer.status != 200 {
        if let Some(digest) = &reference.digest {
            // The digest ops.lock and `ops plugin list` show is the
            // component's, i.e. the layer's: a blob, which the manifest
            // endpoint does not serve (distribution answers 500).
            if let Some(wasm) = component_blob(&mut client, reference, digest)? {
                return Ok(wasm);
            }
        }
    }
    expect_status(reference, &answer, 200)?;
    let actual = digest_of(&answer.body);
    if let Some(expected) = &reference.digest {
        if &actual != expected {
            return Err(FetchError::Digest {
                what: format!("the manifest of {reference}"),
                expected: expected.clone(),
                actual,
            });
        }
    }
    let (layer_digest, layer_size) = check_manifest(reference, &answer)?;
    let url = client.url(&format!(
        "/v2/{}/blobs/{layer_digest}",
        reference.repository
    ));
    let blob = client.send(Method::Get, &url, &[], None)?;
    expect_status(reference, &blob, 200)?;
    let actual = digest_of(&blob.body);
    if actual != layer_digest {
        return Err(FetchError::Digest {
            what: format!("the component layer of {reference}"),
            expected: layer_digest,
            actual,
        });
    }
    if blob.body.len() as u64 != layer_size {
        return Err(bad_manifest(
            reference,
            format!(
                "its layer is {} bytes, but the manifest says {layer_size}",
                blob.body.len()
            ),
        ));
    }
    Ok(blob.body)
}

/// The blob `digest` of the repository when it is a component with that
/// digest; `None` when there is no such blob.
fn component_blob(
    client: &mut Client,
    reference: &Reference,
    digest: &str,
) -> Result<Option<Vec<u8>>, FetchError> {
    let url = client.url(&format!("/v2/{}/blobs/{digest}", reference.repository));
    let blob = client.send(Method::Get, &url, &[], None)?;
    if blob.status != 200 {
        return Ok(None);
    }
    let actual = digest_of(&blob.body);
    if actual != digest {
        return Err(FetchError::Digest {
            what: format!("the blob {reference} names"),
            expected: digest.to_owned(),
            actual,
        });
    }
    // A component starts with the wasm magic and layer 1 (a core module
    // has version 1): anything else is some other blob.
    if !blob.body.starts_with(b"\0asm\x0d\0\x01\0") {
        return Err(bad_manifest(
            reference,
            "the digest names neither a manifest nor a wasm component".into(),
        ));
    }
    Ok(Some(blob.body))
}

pub(super) fn expect_status(
    reference: &Reference,
    answer: &Answer,
    want: u16,
) -> Result<(), FetchError> {
    match answer.status {
        s if s == want => Ok(()),
        404 => Err(FetchError::NotFound {
            reference: reference.to_string(),
            message: answer.explain(),
        }),
        _ => Err(FetchError::Registry {
            registry: reference.registry.clone(),
            message: format!("{reference}: {}", answer.explain()),
        }),
    }
}

/// The config blob and the manifest for `artifact`.
pub fn manifest_for(artifact: &Artifact<'_>) -> (Vec<u8>, Vec<u8>) {
    let layer_digest = digest_of(artifact.wasm);
    let config = json!({
        "created": artifact.created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "ops": artifact.plugin,
        "component": {
            "imports": artifact.imports,
            "exports": artifact.exports,
        },
    });
    // `to_vec` of a `Value` built here cannot fail (string keys only).
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": digest_of(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": layer_digest,
            "size": artifact.wasm.len(),
            "annotations": {
                "org.opencontainers.image.title": format!("{}.wasm", artifact.name),
            },
        }],
        "annotations": {
            "org.opencontainers.image.title": artifact.name,
            "org.opencontainers.image.version": artifact.version,
            "org.opencontainers.image.created": artifact.created,
        },
    });
    (config, serde_json::to_vec(&manifest).unwrap_or_default())
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Of the manifest the tag names now.
    pub digest: String,
    /// The tag already named this component; nothing was uploaded.
    pub unchanged: bool,
}

/// Publishes `artifact` as `reference` (which needs a tag). A tag that
/// already names this component is left as it is; one that names other
/// content is moved only with `force`, since whoever pulls it by tag (or
/// pinned a source to it) would silently get something else.
pub fn push(
    reference: &Reference,
    artifact: &Artifact<'_>,
    force: bool,
) -> Result<Pushed, FetchError> {
    let tag = match (&reference.tag, &reference.digest) {
        (Some(tag), None) => tag.clone(),
        _ => {
            return Err(FetchError::BadSource {
                source_text: reference.to_string(),
                message: "push needs a tag and no digest (the digest is what the push computes)"
                    .into(),
            })
        }
    };
    let mut client = Client::new(&reference.registry, &reference.repository, true);
    let (config, manifest) = manifest_for(artifact);
    if let Some((digest, layer)) = tagged(&mut client, reference, &tag)? {
        if layer.as_deref() == Some(digest_of(artifact.wasm).as_str()) {
            return Ok(Pushed {
                digest,
                unchanged: true,
            });
        }
        if !force {
            return Err(FetchError::TagTaken {
                reference: reference.to_string(),
                digest,
                what: match layer {
                    Some(layer) => format!("a plugin whose component is {layer}"),
                    None => "something that is not a wasm plugin".into(),
                },
            });
        }
    }
    upload_blob(&mut client, reference, artifact.wasm)?;
    upload_blob(&mut client, reference, &config)?;
    let url = client.url(&format!("/v2/{}/manifests/{tag}", reference.repository));
    let answer = client.send(
        Method::Put,
        &url,
        &[("Content-Type", MANIFEST_MEDIA_TYPE)],
        Some(&manifest),
    )?;
    expect_status(reference, &answer, 201)?;
    Ok(Pushed {
        digest: digest_of(&manifest),
        unchanged: false,
    })
}

/// The digest of the manifest `tag` names, and of its component when it is
/// a wasm plugin; `None` when the tag does not exist.
fn tagged(
    client: &mut Client,
    reference: &Reference,
    tag: &str,
) -> Result<Option<(String, Option<String>)>, FetchError> {
    let url = client.url(&format!("/v2/{}/manifests/{tag}", reference.repository));
    let accept = [MANIFEST_MEDIA_TYPE, OTHER_MANIFEST_TYPES].join(", ");
    let answer = client.send(Method::Get, &url, &[("Accept", accept.as_str())], None)?;
    if answer.status == 404 {
        return Ok(None);
    }
    expect_status(reference, &answer, 200)?;
    let layer = check_manifest(reference, &answer).ok().map(|(d, _)| d);
    Ok(Some((digest_of(&answer.body), layer)))
}

/// One blob, unless the repository has it already: a monolithic upload
/// (POST for a session, PUT of the bytes with their digest).
pub(super) fn upload_blob(
    client: &mut Client,
    reference: &Reference,
    bytes: &[u8],
) -> Result<(), FetchError> {
    let digest = digest_of(bytes);
    let repo = &reference.repository;
    let url = client.url(&format!("/v2/{repo}/blobs/{digest}"));
    if client.send(Method::Head, &url, &[], None)?.status == 200 {
        return Ok(());
    }
    let url = client.url(&format!("/v2/{repo}/blobs/uploads/"));
    let answer = client.send(Method::Post, &url, &[], Some(&[]))?;
    expect_status(reference, &answer, 202)?;
    let location = answer
        .header("location")
        .ok_or_else(|| FetchError::Registry {
            registry: reference.registry.clone(),
            message: "it started an upload without saying where (no Location header)".into(),
        })?;
    let separator = if location.contains('?') { '&' } else { '?' };
    let url = client.url(&format!("{location}{separator}digest={digest}"));
    let answer = client.send(
        Method::Put,
        &url,
        &[("Content-Type", "application/octet-stream")],
        Some(bytes),
    )?;
    expect_status(reference, &answer, 201)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_has_the_wasm_artifact_shape() {
        let artifact = Artifact {
            wasm: b"\0asm component",
            plugin: json!({"apiVersion": "0.2.0"}),
            name: "acme-sync",
            version: "1.2.0",
            imports: vec!["ops:plugin/node@0.2.0".into()],
            exports: vec!["ops:plugin/plugin@0.2.0".into()],
            created: "2026-01-02T03:04:05Z".into(),
        };
        let (config, manifest) = manifest_for(&artifact);
        let m: Value = serde_json::from_slice(&manifest).unwrap();
        let c: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(m["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(m["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], digest_of(&config));
        assert_eq!(m["layers"].as_array().unwrap().len(), 1);
        assert_eq!(m["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
        assert_eq!(m["layers"][0]["digest"], digest_of(artifact.wasm));
        assert_eq!(
            m["annotations"]["org.opencontainers.image.title"],
            "acme-sync"
        );
        assert_eq!(
            m["annotations"]["org.opencontainers.image.version"],
            "1.2.0"
        );
        assert_eq!(c["architecture"], "wasm");
        assert_eq!(c["os"], "wasip2");
        assert_eq!(c["layerDigests"][0], digest_of(artifact.wasm));
        assert_eq!(c["component"]["imports"][0], "ops:plugin/node@0.2.0");
    }
}
