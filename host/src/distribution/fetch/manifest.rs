//! The shape of a plugin artifact's manifest (the CNCF wasm OCI artifact
//! layout [`super::oci`] describes), checked wherever a manifest is read:
//! a pull, a push over a tag, a range reading a release's config.

use serde_json::Value;

use super::client::Answer;
use super::oci::{CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use super::reference::Reference;
use super::FetchError;
use crate::domain::Digest;

pub(super) fn bad_manifest(reference: &Reference, message: String) -> FetchError {
    FetchError::NotAPlugin {
        reference: reference.to_string(),
        message,
    }
}

/// The digest and size of the one `application/wasm` layer.
pub(super) fn check_manifest(
    reference: &Reference,
    answer: &Answer,
) -> Result<(String, u64), FetchError> {
    let content_type = answer.header("content-type").unwrap_or("");
    let manifest: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| bad_manifest(reference, format!("its manifest is not JSON: {e}")))?;
    let media_type = manifest["mediaType"].as_str().unwrap_or(content_type);
    if media_type != MANIFEST_MEDIA_TYPE {
        return Err(bad_manifest(
            reference,
            format!("its manifest has media type `{media_type}`, not `{MANIFEST_MEDIA_TYPE}`"),
        ));
    }
    let config_type = manifest["config"]["mediaType"].as_str().unwrap_or("");
    if config_type != CONFIG_MEDIA_TYPE {
        return Err(bad_manifest(
            reference,
            format!("its config has media type `{config_type}`, not `{CONFIG_MEDIA_TYPE}`"),
        ));
    }
    let layers = manifest["layers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let [layer] = layers else {
        return Err(bad_manifest(
            reference,
            format!(
                "it has {} layers; a wasm plugin has exactly one",
                layers.len()
            ),
        ));
    };
    let layer_type = layer["mediaType"].as_str().unwrap_or("");
    if layer_type != LAYER_MEDIA_TYPE {
        return Err(bad_manifest(
            reference,
            format!("its layer has media type `{layer_type}`, not `{LAYER_MEDIA_TYPE}`"),
        ));
    }
    let digest = layer["digest"].as_str().unwrap_or("");
    if digest.parse::<Digest>().is_err() {
        return Err(bad_manifest(
            reference,
            format!("its layer digest `{digest}` is not sha256:<64 hex digits>"),
        ));
    }
    let size = layer["size"]
        .as_u64()
        .ok_or_else(|| bad_manifest(reference, "its layer has no size".into()))?;
    Ok((digest.to_owned(), size))
}
