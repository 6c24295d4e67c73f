//! Picking a release for `version = "^1.4"` from a repository's tags:
//! the tags that are semver versions, newest first; of those the
//! requirement matches, the first whose plugin API this ops can load (as
//! the release's config says; the component's real API is checked again
//! when it is loaded). Only configs are read, newest first, and only as
//! far as needed: no component is downloaded to decide.

use semver::{Version, VersionReq};

use super::fetch::tags::Release;
use super::fetch::FetchError;
use crate::plugin::version;

/// What the tags offered for one requirement.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The newest release in range whose API this ops loads.
    pub chosen: Option<(Version, Release)>,
    /// Newer releases in range than `chosen`, held back for their API.
    pub skipped: Vec<(Version, String)>,
    /// The newest semver tag of all.
    pub newest: Option<Version>,
    /// The newest release the requirement matches whose API this ops
    /// loads, even when `precise` asked for another.
    pub in_range_newest: Option<Version>,
    /// The newest release of all whose API this ops loads, read only when
    /// nothing in range fits (to say what would).
    pub fits_elsewhere: Option<Version>,
}

/// The semver versions among `tags`, newest first, each with its tag
/// (`1.2.0` and `v1.2.0` are both versions; the first written wins).
pub fn versions(tags: &[String]) -> Vec<(Version, String)> {
    let mut found: Vec<(Version, String)> = Vec::new();
    for tag in tags {
        let Ok(v) = Version::parse(tag.strip_prefix('v').unwrap_or(tag)) else {
            continue;
        };
        if !found.iter().any(|(f, _)| *f == v) {
            found.push((v, tag.clone()));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found
}

/// Whether this ops loads a plugin built against `api`. A release that
/// does not say is given the benefit of the doubt: the load checks it.
pub fn loadable(api: Option<&str>) -> bool {
    match api {
        None => true,
        Some(api) => Version::parse(api).is_ok_and(|v| version::implementation_for(&v).is_some()),
    }
}

/// The plugin API versions this ops implements, `0.1.0-0.2.0`.
pub fn implemented() -> String {
    let all = version::supported();
    match (all.iter().min(), all.iter().max()) {
        (Some(lo), Some(hi)) if lo != hi => format!("{lo}-{hi}"),
        (_, Some(hi)) => hi.to_string(),
        _ => String::new(),
    }
}

/// Picks for `req` among `tags`, reading a release's config with `read`
/// only when its version is a candidate; `precise`: that version alone.
pub fn pick(
    req: &VersionReq,
    tags: &[String],
    precise: Option<&Version>,
    mut read: impl FnMut(&str) -> Result<Release, FetchError>,
) -> Result<Outcome, FetchError> {
    let all = versions(tags);
    let mut outcome = Outcome {
        newest: all.first().map(|(v, _)| v.clone()),
        in_range_newest: all
            .iter()
            .find(|(v, _)| req.matches(v))
            .map(|(v, _)| v.clone()),
        ..Outcome::default()
    };
    let wanted = |v: &Version| req.matches(v) && precise.is_none_or(|p| p == v);
    for (v, tag) in all.iter().filter(|(v, _)| wanted(v)) {
        let release = read(tag)?;
        if loadable(release.api.as_deref()) {
            outcome.in_range_newest = Some(v.clone());
            if precise.is_some() {
                // What `update` without --precise would take instead.
                for (newer, tag) in all.iter().filter(|(n, _)| req.matches(n) && n > v) {
                    if loadable(read(tag)?.api.as_deref()) {
                        outcome.in_range_newest = Some(newer.clone());
                        break;
                    }
                }
            }
            outcome.chosen = Some((v.clone(), release));
            return Ok(outcome);
        }
        let api = release.api.unwrap_or_default();
        outcome.skipped.push((v.clone(), api));
    }
    for (v, tag) in all.iter().filter(|(v, _)| !wanted(v)) {
        if loadable(read(tag)?.api.as_deref()) {
            outcome.fits_elsewhere = Some(v.clone());
            break;
        }
    }
    Ok(outcome)
}

/// Why nothing fits, for an outcome without a choice.
pub fn why_none(outcome: &Outcome, req: &str, precise: Option<&Version>, repo: &str) -> String {
    let fits = match &outcome.fits_elsewhere {
        Some(v) => format!("newest that fits: {v}"),
        None => "no release there targets a plugin API this ops implements".into(),
    };
    if let Some((v, api)) = outcome.skipped.first() {
        let api = if api.is_empty() { "an unknown" } else { api };
        return format!(
            "{v} targets plugin API {api}, this ops implements {}; {fits}",
            implemented()
        );
    }
    let asked = match precise {
        Some(p) => format!("{p} (within {req:?})"),
        None => format!("{req:?}"),
    };
    match &outcome.newest {
        None => format!("{repo} has no tag that is a semver version"),
        Some(newest) => format!("no tag of {repo} satisfies {asked}; the newest is {newest}"),
    }
}

/// Why `outcome.newest` is not the release in range that this ops
/// loads: outside the requirement, or built for an API it does not
/// implement. `None` when nothing newer is held back.
pub fn held_back(outcome: &Outcome, req: &VersionReq, req_text: &str) -> Option<String> {
    let newest = outcome.newest.as_ref()?;
    if outcome.chosen.as_ref().is_some_and(|(v, _)| v == newest) {
        return None;
    }
    if !req.matches(newest) {
        return Some(format!("{newest} is outside {req_text:?}"));
    }
    let (_, api) = outcome.skipped.iter().find(|(v, _)| v == newest)?;
    Some(format!(
        "{newest} targets plugin API {api}, this ops implements {}",
        implemented()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str, api: &str) -> Release {
        Release {
            tag: tag.into(),
            manifest: format!("sha256:{}", "a".repeat(64)),
            component: format!("sha256:{}", "b".repeat(64)),
            api: (!api.is_empty()).then(|| api.into()),
            capabilities: Vec::new(),
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn newest_match_wins_and_only_its_config_is_read() {
        let req = VersionReq::parse("^1.4").unwrap();
        let mut read = Vec::new();
        let out = pick(
            &req,
            &tags(&["1.3.0", "latest", "1.4.0", "v1.5.2", "2.0.0", "1.6.0-rc.1"]),
            None,
            |t| {
                read.push(t.to_owned());
                Ok(release(t, version::API_VERSION))
            },
        )
        .unwrap();
        assert_eq!(out.chosen.unwrap().0, Version::new(1, 5, 2));
        assert_eq!(out.newest, Some(Version::new(2, 0, 0)));
        assert_eq!(read, ["v1.5.2"]);
    }

    #[test]
    fn a_release_for_an_api_this_ops_cannot_load_is_skipped_with_the_reason() {
        let req = VersionReq::parse(">=1").unwrap();
        let api = |t: &str| {
            if t == "2.0.0" {
                "0.9.0"
            } else {
                version::API_VERSION
            }
        };
        let out = pick(&req, &tags(&["1.9.3", "2.0.0"]), None, |t| {
            Ok(release(t, api(t)))
        })
        .unwrap();
        assert_eq!(out.chosen.as_ref().unwrap().0, Version::new(1, 9, 3));
        assert_eq!(out.skipped, [(Version::new(2, 0, 0), "0.9.0".to_owned())]);
        let why = held_back(&out, &req, ">=1").unwrap();
        assert!(
            why.starts_with("2.0.0 targets plugin API 0.9.0, this ops implements"),
            "{why}"
        );
        let narrow = VersionReq::parse("~1.9").unwrap();
        let out = pick(&narrow, &tags(&["1.9.3", "2.0.0"]), None, |t| {
            Ok(release(t, api(t)))
        })
        .unwrap();
        assert_eq!(
            held_back(&out, &narrow, "~1.9").unwrap(),
            "2.0.0 is outside \"~1.9\""
        );

        let req = VersionReq::parse("^2").unwrap();
        let out = pick(&req, &tags(&["1.9.3", "2.0.0"]), None, |t| {
            Ok(release(t, api(t)))
        })
        .unwrap();
        assert!(out.chosen.is_none());
        let why = why_none(&out, "^2", None, "oci://h/a");
        assert_eq!(
            why,
            format!(
                "2.0.0 targets plugin API 0.9.0, this ops implements {}; newest that fits: 1.9.3",
                implemented()
            )
        );
    }

    #[test]
    fn precise_takes_that_version_only() {
        let req = VersionReq::parse("^1.4").unwrap();
        let all = tags(&["1.4.0", "1.5.0"]);
        let ok = |t: &str| Ok(release(t, version::API_VERSION));
        let out = pick(&req, &all, Some(&Version::new(1, 4, 0)), ok).unwrap();
        assert_eq!(out.chosen.unwrap().0, Version::new(1, 4, 0));
        let out = pick(&req, &all, Some(&Version::new(1, 4, 7)), ok).unwrap();
        assert!(out.chosen.is_none());
        let why = why_none(&out, "^1.4", Some(&Version::new(1, 4, 7)), "oci://h/a");
        assert!(why.contains("no tag of oci://h/a satisfies 1.4.7"), "{why}");
    }

    #[test]
    fn no_semver_tags_at_all() {
        let req = VersionReq::parse("^1").unwrap();
        let out = pick(&req, &tags(&["latest", "main"]), None, |_| unreachable!()).unwrap();
        assert!(why_none(&out, "^1", None, "oci://h/a").contains("no tag that is a semver"));
    }
}
