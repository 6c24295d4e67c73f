//! Typed handles, one per plugin kind: what the pipeline calls.

use std::fmt;

use super::bindings;
use super::compat;
use super::context::CallContext;
use super::convert;
use super::error::{Operation, PluginError};
use super::loaded::{within_limits, Plugin, Pre};
use super::metadata::Kind;
use super::validation::ValidationError;
use crate::config::PluginSection;

impl Plugin {
    fn expect_kind(&self, expected: Kind) -> Result<(), PluginError> {
        if self.kind() == expected {
            Ok(())
        } else {
            Err(PluginError::WrongKind {
                plugin: self.name().to_owned(),
                expected: expected.as_str(),
                actual: self.kind().as_str(),
            })
        }
    }

    pub fn sync_strategy(&self) -> Result<SyncStrategy, PluginError> {
        self.expect_kind(Kind::SyncStrategy)?;
        Ok(SyncStrategy {
            plugin: self.clone(),
        })
    }

    pub fn registry_auth(&self) -> Result<RegistryAuth, PluginError> {
        self.expect_kind(Kind::RegistryAuth)?;
        Ok(RegistryAuth {
            plugin: self.clone(),
        })
    }

    pub fn image_builder(&self) -> Result<ImageBuilder, PluginError> {
        self.expect_kind(Kind::ImageBuilder)?;
        Ok(ImageBuilder {
            plugin: self.clone(),
        })
    }
}

/// Runs a call on a fresh instance of the latest API's world (`$call`) or of
/// API 0.1.0's world `$old` (`$old_call`, whose result `$old_out` turns
/// into the latest API's), mapping traps and limits to [`PluginError`].
/// `$build_path`: the build path the call is about, where `remote-files`
/// may write.
macro_rules! call_plugin {
    (
        $plugin:expr, $old:ident, $op:expr, $ctx:expr, $readable:expr, $build_path:expr,
        |$b:ident, $store:ident| $call:expr,
        $old_call:expr => $old_out:expr
    ) => {{
        let inner = &$plugin.inner;
        // The typed handles are only built after the kind check.
        if !matches!(&inner.pre, Pre::Latest(_) | Pre::$old(_)) {
            return Err(PluginError::WrongKind {
                plugin: inner.name.clone(),
                expected: stringify!($old),
                actual: inner.metadata.kind.as_str(),
            });
        }
        let mut $store = inner.new_store($ctx.clone(), $readable);
        $store.data_mut().build_path = $build_path;
        let clock = $store.data().clock.clone();
        let result = within_limits(&clock, async {
            match &inner.pre {
                Pre::Latest(pre) => match pre.instantiate_async(&mut $store).await {
                    Ok($b) => $call.await,
                    Err(e) => Err(e),
                },
                Pre::$old(pre) => match pre.instantiate_async(&mut $store).await {
                    Ok($b) => $old_call.await.map(|r| r.map($old_out)),
                    Err(e) => Err(e),
                },
                _ => Err(wasmtime::format_err!("not a {} plugin", stringify!($old))),
            }
        })
        .await;
        inner.settle($op, &$store, result)
    }};
}

// ---------------------------------------------------------------- sync

/// What to sync, for [`SyncStrategy::sync`].
#[derive(Debug, Clone)]
pub struct SyncRequest<'a> {
    /// The strategy's section (`[build.git]`, `[build.push]`).
    pub section: &'a PluginSection,
    /// `build.path` on the node.
    pub path: String,
    /// `--ref`.
    pub git_ref: Option<String>,
    /// `build.branch`.
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Full commit id, when the strategy knows it.
    pub commit: Option<String>,
    pub summary: String,
}

/// A sync-strategy plugin (`git`, `rsync`).
#[derive(Clone)]
pub struct SyncStrategy {
    plugin: Plugin,
}

impl SyncStrategy {
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    pub async fn validate(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
    ) -> Result<(), ValidationError> {
        self.plugin.validate(ctx, section).await
    }

    pub async fn sync(
        &self,
        ctx: &CallContext,
        request: SyncRequest<'_>,
    ) -> Result<SyncOutcome, PluginError> {
        let build_path = Some(request.path.clone());
        let wit = bindings::latest::exports::ops::plugin::sync::SyncRequest {
            config: convert::to_wit(request.section),
            path: request.path,
            git_ref: request.git_ref,
            branch: request.branch,
        };
        let inner = &self.plugin.inner;
        let outcome = call_plugin!(
            self.plugin,
            SyncV0_1,
            Operation::Sync,
            ctx,
            convert::readable_paths(request.section),
            build_path,
            |b, store| b.ops_plugin_sync().call_sync(&mut store, &wit),
            b.ops_plugin_sync()
                .call_sync(&mut store, &compat::sync_request(&wit))
                => compat::sync_outcome
        )?;
        if let Some(commit) = &outcome.commit {
            let hex = commit.bytes().all(|b| b.is_ascii_hexdigit());
            if !(hex && (commit.len() == 40 || commit.len() == 64)) {
                return Err(PluginError::Contract {
                    plugin: inner.name.clone(),
                    message: format!(
                        "sync reported {commit:?} as the commit, which is not a commit id"
                    ),
                });
            }
        }
        Ok(SyncOutcome {
            commit: outcome.commit,
            summary: outcome.summary,
        })
    }
}

// ---------------------------------------------------------------- auth

/// Registry credentials. The secret is registered with the redactor as soon
/// as a plugin returns it; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub registry: String,
    pub username: String,
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("secret", &"***")
            .finish()
    }
}

/// A registry-auth plugin (`token-auth`).
#[derive(Clone)]
pub struct RegistryAuth {
    plugin: Plugin,
}

impl RegistryAuth {
    pub async fn validate(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
    ) -> Result<(), ValidationError> {
        self.plugin.validate(ctx, section).await
    }

    /// Credentials for `registry` from `section` (`[build.image]`).
    pub async fn credentials(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
        registry: &str,
    ) -> Result<Credentials, PluginError> {
        let config = convert::to_wit(section);
        let inner = &self.plugin.inner;
        let c = call_plugin!(
            self.plugin,
            AuthV0_1,
            Operation::Credentials,
            ctx,
            convert::readable_paths(section),
            None,
            |b, store| b
                .ops_plugin_registry()
                .call_get_credentials(&mut store, &config, registry),
            b.ops_plugin_registry()
                .call_get_credentials(&mut store, &compat::config(&config), registry)
                => compat::credentials
        )?;
        ctx.redactor.add_login(&c.username, &c.secret);
        if c.registry.trim().is_empty() || c.username.is_empty() || c.secret.is_empty() {
            return Err(PluginError::Contract {
                plugin: inner.name.clone(),
                message: "it returned credentials with an empty registry, username or secret"
                    .into(),
            });
        }
        Ok(Credentials {
            registry: c.registry,
            username: c.username,
            secret: c.secret,
        })
    }
}

// ---------------------------------------------------------------- image

/// One image to build, for [`ImageBuilder::build`].
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// `[build.image]`.
    pub section: &'a PluginSection,
    /// The build context on the node (`build.path`).
    pub context: String,
    pub dockerfile: String,
    /// `{prefix}/{service}:{tag}`.
    pub image: String,
    pub build_args: Vec<(String, String)>,
    /// Label for the live output, usually the service name.
    pub label: String,
}

/// One image to push, for [`ImageBuilder::push`].
#[derive(Debug, Clone)]
pub struct PushRequest<'a> {
    pub section: &'a PluginSection,
    pub image: String,
    pub label: String,
}

/// An image-builder plugin (`docker`).
#[derive(Clone)]
pub struct ImageBuilder {
    plugin: Plugin,
}

impl ImageBuilder {
    pub async fn validate(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
    ) -> Result<(), ValidationError> {
        self.plugin.validate(ctx, section).await
    }

    pub async fn login(
        &self,
        ctx: &CallContext,
        section: &PluginSection,
        credentials: &Credentials,
    ) -> Result<(), PluginError> {
        ctx.redactor
            .add_login(&credentials.username, &credentials.secret);
        let config = convert::to_wit(section);
        let wit = bindings::types::Credentials {
            registry: credentials.registry.clone(),
            username: credentials.username.clone(),
            secret: credentials.secret.clone(),
        };
        call_plugin!(
            self.plugin,
            ImageV0_1,
            Operation::Login,
            ctx,
            convert::readable_paths(section),
            None,
            |b, store| b.ops_plugin_image().call_login(&mut store, &config, &wit),
            b.ops_plugin_image().call_login(
                &mut store,
                &compat::config(&config),
                &compat::credentials_to_old(&wit)
            ) => |()| ()
        )
    }

    pub async fn build(
        &self,
        ctx: &CallContext,
        request: BuildRequest<'_>,
    ) -> Result<(), PluginError> {
        let build_path = Some(request.context.clone());
        let wit = bindings::latest::exports::ops::plugin::image::BuildRequest {
            config: convert::to_wit(request.section),
            context: request.context,
            dockerfile: request.dockerfile,
            image: request.image,
            build_args: request.build_args,
            label: request.label,
        };
        call_plugin!(
            self.plugin,
            ImageV0_1,
            Operation::Build,
            ctx,
            convert::readable_paths(request.section),
            build_path,
            |b, store| b.ops_plugin_image().call_build(&mut store, &wit),
            b.ops_plugin_image()
                .call_build(&mut store, &compat::build_request(&wit))
                => |()| ()
        )
    }

    /// Pushes and returns the manifest digest (`sha256:<64 hex>`).
    pub async fn push(
        &self,
        ctx: &CallContext,
        request: PushRequest<'_>,
    ) -> Result<String, PluginError> {
        let wit = bindings::latest::exports::ops::plugin::image::PushRequest {
            config: convert::to_wit(request.section),
            image: request.image,
            label: request.label,
        };
        let inner = &self.plugin.inner;
        let outcome = call_plugin!(
            self.plugin,
            ImageV0_1,
            Operation::Push,
            ctx,
            convert::readable_paths(request.section),
            None,
            |b, store| b.ops_plugin_image().call_push(&mut store, &wit),
            b.ops_plugin_image()
                .call_push(&mut store, &compat::push_request(&wit))
                => compat::push_outcome
        )?;
        if outcome.digest.parse::<crate::domain::Digest>().is_err() {
            return Err(PluginError::Contract {
                plugin: inner.name.clone(),
                message: format!("push returned {:?}, not a sha256 digest", outcome.digest),
            });
        }
        Ok(outcome.digest)
    }
}
