//! Typed handles, one per plugin kind: what the pipeline calls.

use super::bindings;
use super::compat;
use super::context::CallContext;
use super::convert;
use super::error::{Operation, PluginError};
use super::loaded::{within_limits, Plugin, Pre};
use super::metadata::Kind;
use super::requests::{BuildRequest, Credentials, PushRequest, Pushed, SyncOutcome, SyncRequest};
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

/// Runs a call on a fresh instance of the latest API's world (`$call`), of
/// API 0.2.0's (`$v2_call`) or of API 0.1.0's world `$old` (`$old_call`);
/// an older result turns into the latest API's with `$v2_out` or
/// `$old_out`, and its text error into `failed`. Traps and limits become
/// [`PluginError`]s. `$build_path`: the build path the call is about, where
/// `remote-files` may write.
macro_rules! call_plugin {
    (
        $plugin:expr, $old:ident, $op:expr, $ctx:expr, $readable:expr, $build_path:expr,
        |$b:ident, $store:ident| $call:expr,
        v0_2: $v2_call:expr => $v2_out:expr,
        v0_1: $old_call:expr => $old_out:expr
    ) => {{
        let inner = &$plugin.inner;
        // The typed handles are only built after the kind check.
        if !matches!(&inner.pre, Pre::Latest(_) | Pre::V0_2(_) | Pre::$old(_)) {
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
                Pre::V0_2(pre) => match pre.instantiate_async(&mut $store).await {
                    Ok($b) => $v2_call
                        .await
                        .map(|r| r.map($v2_out).map_err(compat::failure)),
                    Err(e) => Err(e),
                },
                Pre::$old(pre) => match pre.instantiate_async(&mut $store).await {
                    Ok($b) => $old_call
                        .await
                        .map(|r| r.map($old_out).map_err(compat::failure)),
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
            v0_2: b
                .ops_plugin_sync()
                .call_sync(&mut store, &compat::v0_2::sync_request(&wit))
                => compat::v0_2::sync_outcome,
            v0_1: b
                .ops_plugin_sync()
                .call_sync(&mut store, &compat::v0_1::sync_request(&wit))
                => compat::v0_1::sync_outcome
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
            v0_2: b
                .ops_plugin_registry()
                .call_get_credentials(&mut store, &compat::v0_2::config(&config), registry)
                => compat::v0_2::credentials,
            v0_1: b
                .ops_plugin_registry()
                .call_get_credentials(&mut store, &compat::v0_1::config(&config), registry)
                => compat::v0_1::credentials
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

/// An image-builder plugin (`docker`).
#[derive(Clone)]
pub struct ImageBuilder {
    plugin: Plugin,
}

impl ImageBuilder {
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
            v0_2: b.ops_plugin_image().call_login(
                &mut store,
                &compat::v0_2::config(&config),
                &compat::v0_2::credentials_to_old(&wit)
            ) => |()| (),
            v0_1: b.ops_plugin_image().call_login(
                &mut store,
                &compat::v0_1::config(&config),
                &compat::v0_1::credentials_to_old(&wit)
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
            labels: request.labels,
        };
        call_plugin!(
            self.plugin,
            ImageV0_1,
            Operation::Build,
            ctx,
            convert::readable_paths(request.section),
            build_path,
            |b, store| b.ops_plugin_image().call_build(&mut store, &wit),
            v0_2: b
                .ops_plugin_image()
                .call_build(&mut store, &compat::v0_2::build_request(&wit))
                => |()| (),
            v0_1: b
                .ops_plugin_image()
                .call_build(&mut store, &compat::v0_1::build_request(&wit))
                => |()| ()
        )
    }

    /// Pushes and returns the manifest (or index) digest and platforms.
    pub async fn push(
        &self,
        ctx: &CallContext,
        request: PushRequest<'_>,
    ) -> Result<Pushed, PluginError> {
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
            v0_2: b
                .ops_plugin_image()
                .call_push(&mut store, &compat::v0_2::push_request(&wit))
                => compat::v0_2::push_outcome,
            v0_1: b
                .ops_plugin_image()
                .call_push(&mut store, &compat::v0_1::push_request(&wit))
                => compat::v0_1::push_outcome
        )?;
        Pushed::checked(outcome.digest, outcome.platforms).map_err(|message| {
            PluginError::Contract {
                plugin: inner.name.clone(),
                message,
            }
        })
    }
}
