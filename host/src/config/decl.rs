//! `[plugins.<name>]` and the plugin names `[build]` uses: where a plugin's
//! bytes come from, what it is granted, and which names can be plugins.

use std::path::{Path, PathBuf};

use toml::de::DeValue;

use super::error::ConfigError;
use super::located::Located;
use super::reader::Reader;
use super::schema::{DeclSource, PluginDecl, PluginRules};
use super::section::Location;
use crate::domain::{Authority, Digest, ImageRef, PluginName};

const PLUGIN_KEYS: &[&str] = &[
    "path",
    "url",
    "oci",
    "version",
    "grant",
    "sha256",
    "signed_by",
];

pub(super) fn check_plugin_name(name: &str, key: &str, at: Location) -> Result<(), ConfigError> {
    name.parse::<PluginName>()
        .map(drop)
        .map_err(|e| ConfigError::invalid(at, key, e.to_string()))
}

/// A plugin whose section is `[build.<name>]` (a sync strategy, a
/// registry auth): its name must not be one of `[build]`'s own keys.
pub(super) fn check_section_name(name: &str, key: &str, at: Location) -> Result<(), ConfigError> {
    check_plugin_name(name, key, at.clone())?;
    if super::parse::BUILD_KEYS.contains(&name) {
        return Err(ConfigError::invalid(
            at,
            key,
            format!(
                "{name:?} cannot name a plugin: its section would be [build.{name}], and \
                 `{name}` is one of [build]'s own keys; rename the plugin"
            ),
        ));
    }
    Ok(())
}

pub(super) fn plugin_decl(
    r: &mut Reader,
    file: &Path,
    name: &str,
    value: &serde_spanned::Spanned<DeValue>,
) -> Result<PluginDecl, ConfigError> {
    let prefix = format!("plugins.{name}");
    let table = r.table(value, &prefix)?;
    let location = r.span_location(value);
    r.check_keys(table, &prefix, PLUGIN_KEYS)?;
    check_plugin_name(name, &prefix, location.clone())?;
    let (source, source_text, source_location) = decl_source(r, table, &prefix, file)?
        .unwrap_or_else(|| (DeclSource::Installed, "installed".into(), location.clone()));
    let version = super::requirement::plugin_version(r, table, &prefix, &source)?;
    Ok(PluginDecl {
        name: name.to_owned(),
        version,
        source,
        source_text,
        source_location,
        grants: grants(r, table, &prefix)?,
        sha256: sha256(r, table, &prefix)?,
        signed_by: signed_by(r, table, &prefix)?,
        location,
    })
}

type Source = (DeclSource, String, Location);

/// At most one of `path`, `url`, `oci`.
fn decl_source(
    r: &mut Reader,
    table: &toml::de::DeTable,
    prefix: &str,
    file: &Path,
) -> Result<Option<Source>, ConfigError> {
    let mut found: Option<Source> = None;
    for key in ["path", "url", "oci"] {
        let Some(text) = r.string(table, prefix, key)? else {
            continue;
        };
        let full = format!("{prefix}.{key}");
        let at = r.location_of_key(&full);
        if let Some((_, _, first)) = &found {
            return Err(ConfigError::invalid(
                at,
                full,
                format!(
                    "a plugin comes from one place: give one of `path`, `url` or `oci` (another \
                     is at line {})",
                    first.line
                ),
            ));
        }
        let source = match key {
            "path" => {
                let raw = PathBuf::from(&text);
                DeclSource::Path(if raw.is_absolute() {
                    raw
                } else {
                    file.parent().unwrap_or(Path::new("")).join(raw)
                })
            }
            "url" => {
                check_url(&text).map_err(|m| ConfigError::invalid(at.clone(), &full, m))?;
                DeclSource::Url(text.clone())
            }
            _ => {
                check_oci(&text).map_err(|m| ConfigError::invalid(at.clone(), &full, m))?;
                DeclSource::Oci(text.clone())
            }
        };
        found = Some((source, text, at));
    }
    Ok(found)
}

/// `https://...`, or `http://` to this machine only: plain HTTP anywhere
/// else could be read or rewritten on the way (a plugin's bytes, the API's
/// bearer token).
pub fn check_url(url: &str) -> Result<(), String> {
    let authority = url.parse::<Authority>().ok();
    match authority {
        Some(a) if a.scheme == "https" && a.host.is_empty() => Err(format!("{url:?} has no host")),
        Some(a) if a.scheme == "https" => Ok(()),
        Some(a) if a.scheme == "http" && a.is_loopback() => Ok(()),
        Some(a) if a.scheme == "http" => Err(format!(
            "{url:?} is plain HTTP to {:?}; use https:// (http:// is only for loopback \
             addresses)",
            a.host
        )),
        _ => Err(format!("{url:?} is not an https:// URL")),
    }
}

/// `oci://host[:port]/repo[:tag|@sha256:<64 hex>]`.
fn check_oci(reference: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "{reference:?} is not an OCI reference ({why}); expected \
             oci://host[:port]/repo[:tag|@sha256:...]"
        ))
    };
    let Some(rest) = reference.strip_prefix("oci://") else {
        return bad("it does not start with oci://");
    };
    let Some((host, repo)) = rest.split_once('/') else {
        return bad("no repository after the host");
    };
    match ImageRef::in_registry(host, repo) {
        Ok(_) => Ok(()),
        Err(e) => bad(&e.to_string()),
    }
}

fn grants(
    r: &mut Reader,
    table: &toml::de::DeTable,
    prefix: &str,
) -> Result<Vec<(String, Location)>, ConfigError> {
    let mut grants = Vec::new();
    let key = format!("{prefix}.grant");
    if let Some(list) = r.get(table, prefix, "grant") {
        let DeValue::Array(items) = list.get_ref() else {
            return Err(r.wrong_type(list, &key, "a list of strings"));
        };
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => {
                    let text = r.text_of(s, item, &key)?;
                    grants.push((text.value, r.span_location(item)));
                }
                _ => return Err(r.wrong_type(item, &key, "a list of strings")),
            }
        }
    }
    Ok(grants)
}

/// `signed_by = "principal"` or `["a", "b"]`, never empty.
fn signed_by(
    r: &mut Reader,
    table: &toml::de::DeTable,
    prefix: &str,
) -> Result<Option<Located<Vec<String>>>, ConfigError> {
    let key = format!("{prefix}.signed_by");
    let Some(value) = r.get(table, prefix, "signed_by") else {
        return Ok(None);
    };
    let at = r.span_location(value);
    let list = match value.get_ref() {
        DeValue::String(_) => r.string(table, prefix, "signed_by")?.into_iter().collect(),
        _ => r
            .string_list(table, prefix, "signed_by")?
            .unwrap_or_default(),
    };
    if list.is_empty() || list.iter().any(|p| p.trim().is_empty()) {
        return Err(ConfigError::invalid(
            at,
            key,
            "name the signer's principal (as in allowed_signers), e.g. \"vendor@acme.example\"",
        ));
    }
    Ok(Some(Located { value: list, at }))
}

/// `[plugins]`'s own keys.
pub(super) fn plugin_rules(
    r: &mut Reader,
    table: &toml::de::DeTable,
    file: &Path,
) -> Result<PluginRules, ConfigError> {
    let mut rules = PluginRules {
        mirror: super::mirror::mirror(r, table)?,
        ..PluginRules::default()
    };
    if let Some(path) = r.located_string(table, "plugins", "signers")? {
        let raw = PathBuf::from(&path.value);
        let value = if raw.is_absolute() {
            raw
        } else {
            file.parent().unwrap_or(Path::new("")).join(raw)
        };
        rules.signers = Some(Located { value, at: path.at });
    }
    if let Some(value) = r.get(table, "plugins", "require_signed") {
        match value.get_ref() {
            DeValue::Boolean(true) => rules.require_signed = Some(r.span_location(value)),
            DeValue::Boolean(false) => {}
            _ => return Err(r.wrong_type(value, "plugins.require_signed", "true or false")),
        }
    }
    Ok(rules)
}

fn sha256(
    r: &mut Reader,
    table: &toml::de::DeTable,
    prefix: &str,
) -> Result<Option<(String, Location)>, ConfigError> {
    let Some(hex) = r.string(table, prefix, "sha256")? else {
        return Ok(None);
    };
    let key = format!("{prefix}.sha256");
    let at = r.location_of_key(&key);
    match Digest::from_pin(&hex) {
        Ok(digest) => Ok(Some((digest.hex().to_owned(), at))),
        Err(_) => {
            let lower = hex.to_ascii_lowercase();
            let shown = lower.strip_prefix("sha256:").unwrap_or(&lower);
            Err(ConfigError::invalid(
                at,
                key,
                format!("{shown:?} is not a sha256 digest (64 hex digits)"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        let env = |_: &str| None;
        Config::parse(Path::new("/p/ops.toml"), text, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn sources() {
        let c = parse(
            "[plugins.a]\npath = \"a.wasm\"\n[plugins.b]\nurl = \"https://x.example/b.wasm\"\n\
             [plugins.c]\noci = \"oci://127.0.0.1:5000/c:1.0\"\n[plugins.d]\ngrant = [\"remote-exec\"]\n",
        )
        .unwrap();
        let sources: Vec<_> = c.plugins.iter().map(|p| p.source.clone()).collect();
        assert_eq!(
            sources,
            [
                DeclSource::Path("/p/a.wasm".into()),
                DeclSource::Url("https://x.example/b.wasm".into()),
                DeclSource::Oci("oci://127.0.0.1:5000/c:1.0".into()),
                DeclSource::Installed,
            ]
        );
        assert_eq!(c.plugins[3].source_text, "installed");
        assert_eq!(c.plugins[1].source_location.line, 4);
    }

    #[test]
    fn bad_sources_point_at_their_line() {
        let e = parse("[plugins.a]\npath = \"a.wasm\"\nurl = \"https://x/a\"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:3:"), "{e}");
        assert!(e.contains("one of `path`, `url` or `oci`"), "{e}");
        let e = parse("[plugins.a]\nurl = \"http://evil.example/a.wasm\"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:2:"), "{e}");
        assert!(e.contains("only for loopback"), "{e}");
        for ok in [
            "http://127.0.0.1:8080/a.wasm",
            "http://[::1]/a",
            "http://localhost/a",
        ] {
            parse(&format!("[plugins.a]\nurl = {ok:?}\n")).unwrap();
        }
        let e = parse("[plugins.a]\noci = \"ghcr.io/a\"\n").unwrap_err();
        assert!(e.contains("oci://"), "{e}");
        let e = parse("[plugins.a]\noci = \"oci://h/r@sha256:12\"\n").unwrap_err();
        assert!(e.contains("64 hex"), "{e}");
        let e = parse("[plugins.Bad]\n").unwrap_err();
        assert!(e.contains("not a plugin name"), "{e}");
    }

    #[test]
    fn source_names_a_plugin_with_its_own_section() {
        let c = parse(
            "[build]\nsource = \"acme-sync\"\n[build.acme-sync]\nurl = \"x\"\n\
             [build.image]\nplugin = \"kaniko\"\nauth = \"vault\"\nsquash = true\n[build.vault]\nrole = \"ci\"\n",
        )
        .unwrap();
        let build = c.build.unwrap();
        assert_eq!(build.sync_plugin(), "acme-sync");
        assert_eq!(build.section("acme-sync").unwrap().entries[0].key, "url");
        assert_eq!(build.section("vault").unwrap().entries[0].key, "role");
        let image = build.image.unwrap();
        assert_eq!(image.plugin.unwrap().as_str(), "kaniko");
        assert_eq!(image.auth.unwrap().as_str(), "vault");
        let keys: Vec<_> = image
            .section
            .entries
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(
            keys,
            ["squash"],
            "plugin and auth choose plugins, they are not its keys"
        );
    }

    #[test]
    fn builtin_sources_and_unowned_sections() {
        let c = parse("[build]\nsource = \"push\"\n").unwrap();
        assert_eq!(c.build.unwrap().sync_plugin(), "rsync");
        let c = parse("[build]\n").unwrap();
        assert_eq!(c.build.unwrap().sync_plugin(), "git");
        let e = parse("[build]\nsource = \"git\"\n[build.acme-sync]\nx = 1\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:3:"), "{e}");
        assert!(e.contains("build.acme-sync"), "{e}");
    }

    #[test]
    fn names_that_are_build_keys_are_refused_at_their_line() {
        for name in ["path", "command", "image", "branch"] {
            let e = parse(&format!("[build]\ncommand = \"x\"\nsource = {name:?}\n")).unwrap_err();
            assert!(e.starts_with("/p/ops.toml:3:"), "{name}: {e}");
            assert!(e.contains("one of [build]'s own keys"), "{name}: {e}");
        }
        let e = parse("[build.image]\nservices = []\nauth = \"node\"\n").unwrap_err();
        assert!(e.starts_with("/p/ops.toml:3:"), "{e}");
        assert!(e.contains("[build.node]"), "{e}");
        let e = parse("[build]\nsource = \"Acme\"\n").unwrap_err();
        assert!(e.contains("not a plugin name"), "{e}");
    }
}
