//! What an OCI repository publishes, read without downloading any
//! component: its tags (`/v2/<repo>/tags/list`, page by page through the
//! `Link` header), and for one tag the manifest's config, where
//! `ops plugin push` records the plugin API version and capabilities.
//! A version range picks a release from these.

use serde_json::Value;

use super::client::{Client, Method};
use super::manifest::check_manifest;
use super::oci::{digest_of, expect_status, MANIFEST_MEDIA_TYPE};
use super::reference::Reference;
use super::FetchError;

/// Pages followed at most: a registry that keeps answering `next` does
/// not keep ops listing for ever.
const MAX_PAGES: usize = 100;
/// Tags asked for per page (a registry may answer fewer).
const PAGE: usize = 1000;

/// One tag's release, as its manifest and config describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub tag: String,
    /// `sha256:<hex>` of the manifest the tag names.
    pub manifest: String,
    /// `sha256:<hex>` of its component layer.
    pub component: String,
    /// The config's `ops.apiVersion`; `None` when the release does not
    /// say (pushed by something other than `ops plugin push`).
    pub api: Option<String>,
    /// The config's `ops.capabilities`, in grant syntax.
    pub capabilities: Vec<String>,
}

/// Every tag of `reference`'s repository.
pub fn list(reference: &Reference) -> Result<Vec<String>, FetchError> {
    let mut client = Client::new(&reference.registry, &reference.repository, false);
    let mut url = client.url(&format!("/v2/{}/tags/list?n={PAGE}", reference.repository));
    let mut tags = Vec::new();
    for _ in 0..MAX_PAGES {
        let answer = client.send(Method::Get, &url, &[], None)?;
        expect_status(reference, &answer, 200)?;
        let body: Value =
            serde_json::from_slice(&answer.body).map_err(|e| FetchError::Registry {
                registry: reference.registry.clone(),
                message: format!("its tag list of {} is not JSON: {e}", reference.repository),
            })?;
        // `tags` is null for a repository without tags.
        if let Some(page) = body["tags"].as_array() {
            tags.extend(page.iter().filter_map(|t| t.as_str().map(str::to_owned)));
        }
        match answer.header("link").and_then(next_link) {
            Some(next) => url = client.url(&next),
            None => return Ok(tags),
        }
    }
    Err(FetchError::Registry {
        registry: reference.registry.clone(),
        message: format!(
            "the tag list of {} goes on past {MAX_PAGES} pages",
            reference.repository
        ),
    })
}

/// The `rel="next"` target of a `Link` header: `</v2/...>; rel="next"`.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| target.to_owned())
    })
}

/// What `tag` of `reference`'s repository holds: its manifest checked for
/// the wasm artifact shape and its config (a small blob) read; the
/// component itself is not downloaded.
pub fn release(reference: &Reference, tag: &str) -> Result<Release, FetchError> {
    let tagged = Reference {
        tag: Some(tag.to_owned()),
        digest: None,
        ..reference.clone()
    };
    let mut client = Client::new(&reference.registry, &reference.repository, false);
    let url = client.url(&format!("/v2/{}/manifests/{tag}", reference.repository));
    let answer = client.send(Method::Get, &url, &[("Accept", MANIFEST_MEDIA_TYPE)], None)?;
    expect_status(&tagged, &answer, 200)?;
    let (component, _) = check_manifest(&tagged, &answer)?;
    let manifest: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let config_digest = manifest["config"]["digest"].as_str().unwrap_or_default();
    let url = client.url(&format!(
        "/v2/{}/blobs/{config_digest}",
        reference.repository
    ));
    let blob = client.send(Method::Get, &url, &[], None)?;
    expect_status(&tagged, &blob, 200)?;
    if digest_of(&blob.body) != config_digest {
        return Err(FetchError::Digest {
            what: format!("the config of {tagged}"),
            expected: config_digest.to_owned(),
            actual: digest_of(&blob.body),
        });
    }
    let config: Value = serde_json::from_slice(&blob.body).unwrap_or_default();
    let ops = &config["ops"];
    Ok(Release {
        tag: tag.to_owned(),
        manifest: digest_of(&answer.body),
        component,
        api: ops["apiVersion"].as_str().map(str::to_owned),
        capabilities: ops["capabilities"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn the_next_page_comes_from_the_link_header() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\"").as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link("<https://x/prev>; rel=\"prev\", </v2/a/tags/list?last=c>; rel=next")
                .as_deref(),
            Some("/v2/a/tags/list?last=c")
        );
        assert_eq!(next_link("</v2/a>; rel=\"prev\""), None);
        assert_eq!(next_link("garbage"), None);
    }
}
