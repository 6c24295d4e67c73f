//! What a plugin says about itself, checked against what its component
//! shows.

use semver::Version;

use super::bindings::types::{PluginKind, PluginMetadata};
use super::capability::Capability;
use super::error::PluginError;
use super::version;

/// A plugin's kind; the events and the store's records carry it typed.
pub use crate::domain::PluginKind as Kind;

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub version: Version,
    /// The API version the plugin says it targets.
    pub api_version: Version,
    pub kind: Kind,
    pub description: String,
    pub capabilities: Vec<Capability>,
}

impl Metadata {
    /// Stands in until the plugin has answered.
    pub(crate) fn placeholder(name: &str, kind: Kind) -> Metadata {
        Metadata {
            name: name.to_owned(),
            version: Version::new(0, 0, 0),
            api_version: version::host_api(),
            kind,
            description: String::new(),
            capabilities: Vec::new(),
        }
    }

    /// Accepts the plugin's answer only if it is consistent: its name is the
    /// one it is configured under, versions are semver, the API version
    /// agrees with the interfaces the component uses, the kind with the
    /// world it exports (when the world has a kind).
    pub(crate) fn check(
        name: &str,
        raw: PluginMetadata,
        kind: Option<Kind>,
        api_target: &Version,
    ) -> Result<Metadata, PluginError> {
        let contract = |message: String| PluginError::Contract {
            plugin: name.to_owned(),
            message,
        };
        if raw.name != name {
            return Err(contract(format!(
                "it calls itself {:?} but is loaded as `{name}`",
                raw.name
            )));
        }
        let plugin_version = Version::parse(&raw.version)
            .map_err(|e| contract(format!("its version {:?} is not semver: {e}", raw.version)))?;
        let api_version = Version::parse(&raw.api_version).map_err(|e| {
            contract(format!(
                "its api-version {:?} is not semver: {e}",
                raw.api_version
            ))
        })?;
        if version::implementation_for(&api_version).is_none()
            || api_version.major != api_target.major
            || api_version.minor != api_target.minor
        {
            return Err(contract(format!(
                "its metadata says API {api_version}, but the component uses the API {api_target} interfaces"
            )));
        }
        let declared = match raw.kind {
            PluginKind::SyncStrategy => Kind::SyncStrategy,
            PluginKind::RegistryAuth => Kind::RegistryAuth,
            PluginKind::ImageBuilder => Kind::ImageBuilder,
        };
        // The latest API's components export every kind: the metadata
        // decides. A 0.1.0 component's world decides, and must agree.
        let kind = kind.unwrap_or(declared);
        if declared != kind {
            return Err(contract(format!(
                "its metadata says {declared} but it exports the {kind} interfaces"
            )));
        }
        let capabilities: Vec<Capability> = raw.capabilities.into_iter().map(Into::into).collect();
        check_capabilities(&capabilities).map_err(contract)?;
        let mut description = raw.description;
        description.truncate(
            (0..=200.min(description.len()))
                .rev()
                .find(|i| description.is_char_boundary(*i))
                .unwrap_or(0),
        );
        Ok(Metadata {
            name: raw.name,
            version: plugin_version,
            api_version,
            kind,
            description,
            capabilities,
        })
    }
}

/// Capabilities that name nothing, or names that cannot be variables.
fn check_capabilities(capabilities: &[Capability]) -> Result<(), String> {
    for cap in capabilities {
        match cap {
            Capability::LocalExec(programs)
                if programs.is_empty() || programs.iter().any(|p| p.is_empty()) =>
            {
                return Err("it declares local-exec without naming programs".into())
            }
            Capability::Env(names) if names.iter().any(|n| !crate::text::is_identifier(n)) => {
                return Err(format!("it declares env with an invalid name in {names:?}"))
            }
            Capability::Http(hosts) if hosts.is_empty() || hosts.iter().any(|h| h.is_empty()) => {
                return Err("it declares http without naming hosts".into())
            }
            _ => {}
        }
    }
    Ok(())
}
