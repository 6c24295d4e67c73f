//! Values with a grammar: image references and their parts, digests,
//! plugin names and kinds, loopback hosts and URL authorities. Each is parsed once,
//! where it enters (clap's `value_parser`, the config reader, a plugin's
//! answer), and passed typed from then on, so every rule below exists in
//! one place and a value that reached the pipeline is known to be valid.
//!
//! The OCI reference grammar is written here rather than taken from
//! `oci-spec` (`Reference`, `Digest`). That crate brings four crates of
//! proc macros (`derive_builder` with `darling`, `getset`, `strum_macros`)
//! and `regex`, none of which this workspace compiles today: a cost paid on
//! every clean build and in CI on two shared cores beside wasmtime, for a
//! grammar of about two hundred lines. Its errors are also one string for
//! the whole reference, where ours name the part that is wrong (the
//! registry host, the port, a path component, the tag, the digest), which
//! is what `ops.toml` and `ops plugin install` report.
//!
//! The grammar is Docker's (`distribution/reference`): see each type for
//! the rule and its edge cases. Where two copies disagreed, Docker's rule
//! won: a path component may use `__` and runs of `-` but not `a..b`, the
//! whole path is at most 255 characters (no limit per component), and a
//! digest from a registry or a builder must be lowercase (a pin a person
//! writes may be any case, see [`Digest::from_pin`]).
//!
//! Each rule, and the one place it lives:
//!
//! - tag grammar: [`Tag`] (`--tag` through clap; image plans; `oci://`)
//! - image path components: [`Repository`] (services, prefixes, `oci://`)
//! - registry host and the `docker.io` default: [`Registry`], [`ImageName`]
//! - `sha256:<hex>`: [`Digest`] (config pins, `--sha256`, `oci://`, OCI
//!   layers, a builder's push, the download cache)
//! - loopback host: [`is_loopback`] (config URLs, fetching, the http host
//!   call, registry clients)
//! - URL authority: [`Authority`] (config URLs, fetching, trust findings)
//! - plugin names: [`PluginName`] (config, plugin store, build job)
//! - git refs: [`GitRef`] (`--ref` through clap, `build.branch`)
//! - sizes people write: [`ByteSize`] (`[node] cache`, `--cache`)

mod authority;
mod byte_size;
mod digest;
mod git_ref;
mod image_name;
mod image_ref;
mod loopback;
mod plugin_kind;
mod plugin_name;
mod registry;
mod repository;
mod tag;

pub use authority::{Authority, AuthorityError};
pub use byte_size::{ByteSize, ByteSizeError};
pub use digest::{Digest, DigestError};
pub use git_ref::{GitRef, GitRefError};
pub use image_name::{ImageName, ImageNameError};
pub use image_ref::{ImageRef, ImageRefError};
pub use loopback::is_loopback;
pub use plugin_kind::{PluginKind, PluginKindError};
pub use plugin_name::{PluginName, PluginNameError};
pub use registry::{Registry, RegistryError};
pub use repository::{Repository, RepositoryError};
pub use tag::{Tag, TagError};
