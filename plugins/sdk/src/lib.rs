//! The SDK for ops plugins.
//!
//! A plugin is a WebAssembly component for one world of the `ops:plugin`
//! WIT package. This crate holds the bindings for all three worlds, and on
//! top of them:
//!
//! - [`API_VERSION`]: the API this SDK targets, read from the WIT package
//!   line, so a plugin never writes the number itself;
//! - [`Error`]: the typed failure every export and host call returns
//!   (refused, transient, node lost, tool missing, no space, failed); the
//!   host's retries, exit codes and messages follow its case, so say which
//!   it is ([`error`]);
//! - [`config::from_config`]: a plugin's config section into a
//!   `#[derive(Deserialize)]` struct, with errors that name the key (the
//!   host turns them into file:line:column errors);
//! - [`logger`]: the `log` macros reach the host's log under the plugin's
//!   name;
//! - [`exec`]: an exec builder for the node and the local machine, with
//!   status checks and bounded output;
//! - config-key helpers (`unknown_key_message` with a "did you mean") and
//!   encodings (`base64_encode`, `sh_quote`) and sizes as tools print
//!   them ([`parse_size`]);
//! - one export macro per kind: [`export_sync_strategy!`],
//!   [`export_registry_auth!`], [`export_image_builder!`].

pub mod config;
mod encoding;
pub mod error;
pub mod exec;
mod keys;
pub mod logger;
mod size;
mod version;

pub use encoding::{base64_encode, sh_quote};
pub use keys::{suggest, unknown_key_message};
pub use size::parse_size;
pub use version::{package_version, API_VERSION};

/// The generated bindings of the one world every plugin targets,
/// `ops-plugin`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/v0.3.0",
        world: "ops-plugin",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "ops_plugin_sdk::bindings",
    });

    // Makes cargo rebuild the bindings when the contract changes: the
    // macro above reads the WIT without telling cargo.
    const _: &str = include_str!("../../../wit/v0.3.0/plugin.wit");
}

/// The host interfaces and shared types, for every kind of plugin.
pub use bindings::ops::plugin::{environment, http, local, log as host_log, node, types};
pub use types::{
    Capability, Config, ConfigEntry, ConfigError, ConfigValue, Credentials, Error, ExecOutput,
    ExecRequest, ExitStatus, HttpRequest, HttpResponse, LogLevel, NoSpace, PluginKind,
    PluginMetadata, ToolMissing,
};

/// What every plugin says about itself and how it checks its section.
pub trait Plugin {
    /// Name, version and capabilities; [`metadata`] fills in the rest.
    fn describe() -> Description;

    /// Checks the config section before anything remote happens.
    fn validate(config: Config) -> Result<(), Vec<ConfigError>>;
}

/// The parts of a plugin's metadata that are its own.
pub struct Description {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub capabilities: Vec<Capability>,
}

/// The metadata the host asks for, with the SDK's API version.
pub fn metadata(description: Description, kind: PluginKind) -> PluginMetadata {
    PluginMetadata {
        name: description.name.into(),
        version: description.version.into(),
        api_version: API_VERSION.into(),
        kind,
        description: description.description.into(),
        capabilities: description.capabilities,
    }
}

/// A sync strategy: puts the code into `build.path` on the node.
pub trait SyncStrategy: Plugin {
    fn sync(
        request: bindings::exports::ops::plugin::sync::SyncRequest,
    ) -> Result<bindings::exports::ops::plugin::sync::SyncOutcome, Error>;
}

/// A registry auth: the credentials to log in to a registry.
pub trait RegistryAuth: Plugin {
    fn get_credentials(config: Config, registry: String) -> Result<Credentials, Error>;
}

/// An image builder: log in, build and push one image at a time, and look
/// after what it keeps on the node.
///
/// The housekeeping calls (`list_images`, `remove_images`, `storage`,
/// `prune_cache`) have defaults that say the builder cannot do them, so that
/// `ops node prune` and `ops node df` name the builder instead of failing
/// obscurely. A builder that puts `BuildRequest::labels` on its images can
/// list them and should implement all four.
pub trait ImageBuilder: Plugin {
    fn login(config: Config, credentials: Credentials) -> Result<(), Error>;
    fn build(request: bindings::exports::ops::plugin::image::BuildRequest) -> Result<(), Error>;
    fn push(
        request: bindings::exports::ops::plugin::image::PushRequest,
    ) -> Result<bindings::exports::ops::plugin::image::PushOutcome, Error>;

    /// Every image labelled `ops.project` = `project`, and every image index
    /// named for one of them.
    fn list_images(
        config: Config,
        project: String,
    ) -> Result<Vec<bindings::exports::ops::plugin::image::StoredImage>, Error> {
        let _ = (config, project);
        Err(cannot::<Self>("list its images"))
    }

    /// Removes these names, then the images of `ids` left without a name,
    /// never by force.
    fn remove_images(config: Config, names: Vec<String>, ids: Vec<String>) -> Result<(), Error> {
        let _ = (config, names, ids);
        Err(cannot::<Self>("remove images"))
    }

    /// The build cache's size and where the builder stores things.
    fn storage(
        config: Config,
    ) -> Result<bindings::exports::ops::plugin::image::StorageUsage, Error> {
        let _ = config;
        Err(cannot::<Self>("report its storage"))
    }

    /// Removes build cache until at most `keep_bytes` are left; the bytes freed.
    fn prune_cache(config: Config, keep_bytes: u64) -> Result<u64, Error> {
        let _ = (config, keep_bytes);
        Err(cannot::<Self>("prune its build cache"))
    }
}

/// The error of a housekeeping call a builder does not implement.
fn cannot<T: Plugin + ?Sized>(what: &str) -> Error {
    Error::Failed(format!(
        "image builder {} cannot {what} (it does not implement the call)",
        T::describe().name
    ))
}

/// The error a plugin gives for a kind it is not; the host never asks, as it
/// calls only the kind the metadata names.
pub fn not_this_kind(plugin: &str, kind: &str) -> Error {
    Error::Failed(format!("plugin {plugin} is not {kind}"))
}

/// Exports `$ty` (a [`SyncStrategy`]) as the plugin of this component.
#[macro_export]
macro_rules! export_sync_strategy {
    ($ty:ty) => {
        $crate::__export_plugin!($ty, SyncStrategy);
        impl $crate::bindings::exports::ops::plugin::sync::Guest for __OpsPluginExport {
            fn sync(
                request: $crate::bindings::exports::ops::plugin::sync::SyncRequest,
            ) -> Result<$crate::bindings::exports::ops::plugin::sync::SyncOutcome, $crate::Error>
            {
                $crate::logger::init();
                <$ty as $crate::SyncStrategy>::sync(request)
            }
        }
        $crate::__not_registry_auth!($ty);
        $crate::__not_image_builder!($ty);
    };
}

/// Exports `$ty` (a [`RegistryAuth`]) as the plugin of this component.
#[macro_export]
macro_rules! export_registry_auth {
    ($ty:ty) => {
        $crate::__export_plugin!($ty, RegistryAuth);
        impl $crate::bindings::exports::ops::plugin::registry::Guest for __OpsPluginExport {
            fn get_credentials(
                config: $crate::Config,
                registry: String,
            ) -> Result<$crate::Credentials, $crate::Error> {
                $crate::logger::init();
                <$ty as $crate::RegistryAuth>::get_credentials(config, registry)
            }
        }
        $crate::__not_sync_strategy!($ty);
        $crate::__not_image_builder!($ty);
    };
}

/// Exports `$ty` (an [`ImageBuilder`]) as the plugin of this component.
#[macro_export]
macro_rules! export_image_builder {
    ($ty:ty) => {
        $crate::__export_plugin!($ty, ImageBuilder);
        impl $crate::bindings::exports::ops::plugin::image::Guest for __OpsPluginExport {
            fn login(
                config: $crate::Config,
                credentials: $crate::Credentials,
            ) -> Result<(), $crate::Error> {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::login(config, credentials)
            }
            fn build(
                request: $crate::bindings::exports::ops::plugin::image::BuildRequest,
            ) -> Result<(), $crate::Error> {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::build(request)
            }
            fn push(
                request: $crate::bindings::exports::ops::plugin::image::PushRequest,
            ) -> Result<$crate::bindings::exports::ops::plugin::image::PushOutcome, $crate::Error>
            {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::push(request)
            }
            fn list_images(
                config: $crate::Config,
                project: String,
            ) -> Result<
                Vec<$crate::bindings::exports::ops::plugin::image::StoredImage>,
                $crate::Error,
            > {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::list_images(config, project)
            }
            fn remove_images(
                config: $crate::Config,
                names: Vec<String>,
                ids: Vec<String>,
            ) -> Result<(), $crate::Error> {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::remove_images(config, names, ids)
            }
            fn storage(
                config: $crate::Config,
            ) -> Result<$crate::bindings::exports::ops::plugin::image::StorageUsage, $crate::Error>
            {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::storage(config)
            }
            fn prune_cache(config: $crate::Config, keep_bytes: u64) -> Result<u64, $crate::Error> {
                $crate::logger::init();
                <$ty as $crate::ImageBuilder>::prune_cache(config, keep_bytes)
            }
        }
        $crate::__not_sync_strategy!($ty);
        $crate::__not_registry_auth!($ty);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($ty:ty, $kind:ident) => {
        struct __OpsPluginExport;
        impl $crate::bindings::exports::ops::plugin::plugin::Guest for __OpsPluginExport {
            fn metadata() -> $crate::PluginMetadata {
                $crate::metadata(<$ty as $crate::Plugin>::describe(), $crate::PluginKind::$kind)
            }
            fn validate(config: $crate::Config) -> Result<(), Vec<$crate::ConfigError>> {
                $crate::logger::init();
                <$ty as $crate::Plugin>::validate(config)
            }
        }
        $crate::bindings::export_world!(__OpsPluginExport with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __not_sync_strategy {
    ($ty:ty) => {
        impl $crate::bindings::exports::ops::plugin::sync::Guest for __OpsPluginExport {
            fn sync(
                _: $crate::bindings::exports::ops::plugin::sync::SyncRequest,
            ) -> Result<$crate::bindings::exports::ops::plugin::sync::SyncOutcome, $crate::Error>
            {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "a sync strategy",
                ))
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __not_registry_auth {
    ($ty:ty) => {
        impl $crate::bindings::exports::ops::plugin::registry::Guest for __OpsPluginExport {
            fn get_credentials(
                _: $crate::Config,
                _: String,
            ) -> Result<$crate::Credentials, $crate::Error> {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "a registry auth",
                ))
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __not_image_builder {
    ($ty:ty) => {
        impl $crate::bindings::exports::ops::plugin::image::Guest for __OpsPluginExport {
            fn login(_: $crate::Config, _: $crate::Credentials) -> Result<(), $crate::Error> {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn build(
                _: $crate::bindings::exports::ops::plugin::image::BuildRequest,
            ) -> Result<(), $crate::Error> {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn push(
                _: $crate::bindings::exports::ops::plugin::image::PushRequest,
            ) -> Result<$crate::bindings::exports::ops::plugin::image::PushOutcome, $crate::Error>
            {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn list_images(
                _: $crate::Config,
                _: String,
            ) -> Result<
                Vec<$crate::bindings::exports::ops::plugin::image::StoredImage>,
                $crate::Error,
            > {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn remove_images(
                _: $crate::Config,
                _: Vec<String>,
                _: Vec<String>,
            ) -> Result<(), $crate::Error> {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn storage(
                _: $crate::Config,
            ) -> Result<$crate::bindings::exports::ops::plugin::image::StorageUsage, $crate::Error>
            {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
            fn prune_cache(_: $crate::Config, _: u64) -> Result<u64, $crate::Error> {
                Err($crate::not_this_kind(
                    <$ty as $crate::Plugin>::describe().name,
                    "an image builder",
                ))
            }
        }
    };
}
