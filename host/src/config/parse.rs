//! Reading `ops.toml` into a [`Config`]: the keys each table may have, and
//! the typed value of each.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, ConfigErrorKind};
use super::located::Located;
use super::reader::{join, Reader};
use super::schema::{
    ApiConfig, BuildConfig, Config, ImageConfig, NodeEntry, NodeRef, PluginRules, PLUGIN_RULE_KEYS,
};
use super::section::Location;
use crate::output::Redactor;

const TOP_KEYS: &[&str] = &[
    "project", "target", "nodes", "api", "build", "plugins", "hooks", "node",
];
const NODE_KEYS: &[&str] = &["host", "user", "port", "host_key", "name"];
const API_KEYS: &[&str] = &["url", "token"];
pub(super) const BUILD_KEYS: &[&str] = &[
    "node",
    "path",
    "command",
    "source",
    "branch",
    "git",
    "image",
    "push",
    "artifacts",
];

impl Config {
    /// Reads `path`, interpolates `$NAME` from the process environment and
    /// registers every interpolated value (and the API token) with
    /// `redactor`.
    pub fn load(path: &Path, redactor: &Redactor) -> Result<Config, ConfigError> {
        let text = crate::local_file::read_local_text(path, crate::local_file::MAX_TEXT_FILE)
            .map_err(|err| ConfigError::new(Location::top_of(path), ConfigErrorKind::Read(err)))?;
        let env = |name: &str| std::env::var(name).ok();
        let config = Config::parse(path, &text, &env)?;
        for secret in config.secrets() {
            redactor.add(secret);
        }
        Ok(config)
    }

    /// Parses `text` as if read from `path`, with `env` as the environment.
    /// Secrets are returned by [`Config::secrets`], not registered.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut r = Reader::new(path, text, env);
        let doc = DeTable::parse(text).map_err(|err| {
            let location = err
                .span()
                .map(|span| r.location(span.start))
                .unwrap_or_else(|| r.file_location());
            ConfigError::new(location, ConfigErrorKind::Syntax(err.message().to_owned()))
        })?;
        let root = doc.get_ref();
        super::nul::refuse_nul(&r, root, "")?;
        r.check_keys(root, "", TOP_KEYS)?;

        let project = r.located_string(root, "", "project")?;
        let target = node_ref(&mut r, root, "", "target")?;

        let nodes = node_entries(&mut r, root)?;
        let api = api_config(&mut r, root, env)?;

        let build = match r.get(root, "", "build") {
            Some(value) => Some(build_config(&mut r, value)?),
            None => None,
        };

        let mut plugins = Vec::new();
        let mut plugin_rules = PluginRules::default();
        if let Some(value) = r.get(root, "", "plugins") {
            let table = r.table(value, "plugins")?;
            plugin_rules = super::decl::plugin_rules(&mut r, table, path)?;
            let mut items: Vec<_> = table
                .iter()
                .filter(|(k, _)| !PLUGIN_RULE_KEYS.contains(&k.get_ref().as_ref()))
                .collect();
            items.sort_by_key(|(k, _)| k.span().start);
            for (key, value) in items {
                plugins.push(super::decl::plugin_decl(
                    &mut r,
                    path,
                    key.get_ref(),
                    value,
                )?);
            }
        }

        let hooks = super::hooks::hooks(&mut r, root)?;
        let node = super::node_policy::node_policy(&mut r, root)?;
        let mut secret_variables = std::mem::take(&mut r.secret_names);
        if api.token.is_some() && !api.token_in_file {
            secret_variables.push("OPS_API_TOKEN".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        secret_variables.retain(|name| seen.insert(name.clone()));

        Ok(Config {
            file: path.to_path_buf(),
            project,
            target,
            nodes,
            api,
            build,
            plugins,
            plugin_rules,
            hooks,
            node,
            secrets: std::mem::take(&mut r.secrets),
            secret_variables,
        })
    }
}

/// `[nodes.<id>]`, in file order.
fn node_entries(r: &mut Reader, root: &DeTable) -> Result<Vec<NodeEntry>, ConfigError> {
    let mut nodes = Vec::new();
    if let Some(value) = r.get(root, "", "nodes") {
        let table = r.table(value, "nodes")?;
        let mut items: Vec<_> = table.iter().collect();
        items.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in items {
            nodes.push(node_entry(r, key.get_ref(), value)?);
        }
    }
    Ok(nodes)
}

/// `[api]`, with `OPS_API_URL`/`OPS_API_TOKEN` for what it leaves out.
fn api_config(
    r: &mut Reader,
    root: &DeTable,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ApiConfig, ConfigError> {
    let mut api = ApiConfig::default();
    if let Some(value) = r.get(root, "", "api") {
        let table = r.table(value, "api")?;
        r.check_keys(table, "api", API_KEYS)?;
        if let Some(url) = r.located_string(table, "api", "url")? {
            super::decl::check_url(&url)
                .map_err(|message| ConfigError::invalid(url.at.clone(), "api.url", message))?;
            api.url_at = Some(url.at);
            api.url = Some(url.value);
        }
        api.token = r.string(table, "api", "token")?;
        api.token_in_file = api.token.is_some();
    }
    if api.url.is_none() {
        api.url = env("OPS_API_URL").filter(|v| !v.is_empty());
    }
    if api.token.is_none() {
        api.token = env("OPS_API_TOKEN").filter(|v| !v.is_empty());
    }
    if let Some(token) = &api.token {
        r.secrets.push(token.clone());
    }
    Ok(api)
}

fn node_ref(
    r: &mut Reader,
    table: &DeTable,
    prefix: &str,
    key: &str,
) -> Result<Option<Located<NodeRef>>, ConfigError> {
    let path = join(prefix, key);
    let Some(value) = r.get(table, prefix, key) else {
        return Ok(None);
    };
    let at = r.span_location(value);
    let node = match value.get_ref() {
        DeValue::Integer(_) => {
            let id = r.integer(table, prefix, key)?.unwrap_or_default();
            u64::try_from(id)
                .map(NodeRef::Id)
                .map_err(|_| r.wrong_type(value, &path, "a node id (0 or more) or a name"))?
        }
        DeValue::String(s) => {
            let text = r.text_of(s, value, &path)?;
            if text.value.is_empty() {
                return Err(ConfigError::invalid(
                    r.span_location(value),
                    path,
                    "must not be empty",
                ));
            }
            NodeRef::Name(text.value)
        }
        _ => return Err(r.wrong_type(value, &path, "a node id (integer) or a name (string)")),
    };
    Ok(Some(Located { value: node, at }))
}

fn node_entry(
    r: &mut Reader,
    key: &str,
    value: &serde_spanned::Spanned<DeValue>,
) -> Result<NodeEntry, ConfigError> {
    let prefix = format!("nodes.{key}");
    let table = r.table(value, &prefix)?;
    let location = r.span_location(value);
    r.check_keys(table, &prefix, NODE_KEYS)?;
    let host = r
        .string(table, &prefix, "host")?
        .ok_or_else(|| ConfigError::missing(location.clone(), format!("{prefix}.host")))?;
    let port_at = r.get(table, &prefix, "port").map(|v| r.span_location(v));
    let port = match (r.integer(table, &prefix, "port")?, port_at) {
        (Some(port), Some(port_at)) => {
            Some(u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| {
                ConfigError::new(
                    port_at,
                    ConfigErrorKind::WrongType {
                        key: format!("{prefix}.port"),
                        expected: "a port number between 1 and 65535".into(),
                    },
                )
            })?)
        }
        _ => None,
    };
    Ok(NodeEntry {
        key: key.to_owned(),
        id: key.parse().ok(),
        name: r.string(table, &prefix, "name")?,
        host,
        user: r.string(table, &prefix, "user")?,
        port,
        host_key: r.located_string(table, &prefix, "host_key")?,
        location,
    })
}

fn build_config(
    r: &mut Reader,
    value: &serde_spanned::Spanned<DeValue>,
) -> Result<BuildConfig, ConfigError> {
    let table = r.table(value, "build")?;
    let location = r.span_location(value);
    let source = match r.located_string(table, "build", "source")? {
        None => None,
        Some(source) => {
            let builtin = super::schema::BUILTIN_SOURCES
                .iter()
                .any(|(s, _)| *s == source.value);
            if !builtin {
                super::decl::check_section_name(&source, "build.source", source.at.clone())?;
            }
            Some(source)
        }
    };
    let git = match r.get(table, "build", "git") {
        Some(v) => Some(r.plugin_section(v, "build.git")?),
        None => None,
    };
    let push = match r.get(table, "build", "push") {
        Some(v) => Some(r.plugin_section(v, "build.push")?),
        None => None,
    };
    let image = match r.get(table, "build", "image") {
        Some(v) => Some(image_config(r, v)?),
        None => None,
    };
    // `[build.<name>]` belongs to the plugin `source` or `auth` names; any
    // other key is unknown.
    let owners: Vec<&str> = [
        source.as_ref().map(|s| s.as_str()),
        image
            .as_ref()
            .and_then(|i| i.auth.as_ref())
            .map(|a| a.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut known: Vec<&str> = BUILD_KEYS.to_vec();
    known.extend(&owners);
    r.check_keys(table, "build", &known)?;
    let mut sections = Vec::new();
    for owner in owners {
        if BUILD_KEYS.contains(&owner)
            || sections
                .iter()
                .any(|s: &super::PluginSection| s.path == format!("build.{owner}"))
        {
            continue;
        }
        if let Some(v) = r.get(table, "build", owner) {
            sections.push(r.plugin_section(v, &format!("build.{owner}"))?);
        }
    }
    Ok(BuildConfig {
        node: node_ref(r, table, "build", "node")?,
        path: r.located_string(table, "build", "path")?,
        command: r.located_string(table, "build", "command")?,
        source,
        branch: r.located_string(table, "build", "branch")?,
        artifacts: r.located_items(table, "build", "artifacts")?,
        git,
        image,
        push,
        sections,
        location,
    })
}

/// `[build.image]`: only the keys the host uses are read here; the rest
/// are the image builder's.
fn image_config(
    r: &mut Reader,
    v: &serde_spanned::Spanned<DeValue>,
) -> Result<ImageConfig, ConfigError> {
    let mut section = r.plugin_section(v, "build.image")?;
    let t = r.table(v, "build.image")?;
    let p = "build.image";
    let plugin = r.located_string(t, p, "plugin")?;
    let auth = r.located_string(t, p, "auth")?;
    if let Some(name) = &plugin {
        super::decl::check_plugin_name(name, "build.image.plugin", name.at.clone())?;
    }
    if let Some(name) = &auth {
        super::decl::check_section_name(name, "build.image.auth", name.at.clone())?;
    }
    section
        .entries
        .retain(|e| e.key != "plugin" && e.key != "auth");
    Ok(ImageConfig {
        registry: r.located_string(t, p, "registry")?,
        token: r.string(t, p, "token")?,
        username: r.string(t, p, "username")?,
        prefix: r.located_string(t, p, "prefix")?,
        binary_arg: r.located_string(t, p, "binary_arg")?,
        services: r.located_string_list(t, p, "services")?,
        plugin,
        auth,
        section,
    })
}
