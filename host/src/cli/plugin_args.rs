//! `ops plugin ...`: definitions only.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use super::args::ConfigFile;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List built-in and installed plugins
    List {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Install a plugin into the per-user store
    Install {
        /// A .wasm file, an https:// URL or oci://HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Refuse it unless its sha256 is this (64 hex digits)
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
    /// Remove a plugin from the per-user store
    Remove { name: String },
    /// Show a plugin's kind, versions, source, sha256, capabilities and grants
    Info {
        name: String,
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Take the plugins the project uses as they are now and record them in
    /// ops.lock (how a new plugin version is accepted)
    Update {
        /// Only this plugin's entry
        #[arg(value_name = "NAME")]
        name: Option<String>,
        /// Accept this new signer of NAME (its SHA256:... key fingerprint,
        /// or `none` for a plugin no longer signed)
        #[arg(long, value_name = "FINGERPRINT", requires = "name")]
        accept_signer: Option<String>,
        /// Move NAME (picked by a `version` range) to exactly this version,
        /// which must satisfy the range
        #[arg(long, value_name = "VERSION", requires = "name")]
        precise: Option<String>,
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Copy every oci plugin ops.lock pins, with its signatures, to a
    /// mirror registry (same repository paths under its prefix)
    Mirror {
        /// oci://HOST[:PORT][/PREFIX]
        #[arg(value_name = "MIRROR")]
        target: String,
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Show, for each plugin picked by a `version` range, the locked
    /// version, the newest in range and the newest of all, and why a newer
    /// one is held back
    Outdated {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Sign a plugin file with an SSH key: writes FILE.sig (namespace
    /// ops-plugin; `ssh-keygen -Y verify` checks it)
    Sign {
        wasm: PathBuf,
        /// The OpenSSH private key to sign with
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
    },
    /// Check a plugin file's signature (FILE.sig) against the trusted signers
    Verify {
        wasm: PathBuf,
        /// The signature file (default: FILE.sig)
        #[arg(long, value_name = "SIGFILE")]
        signature: Option<PathBuf>,
        /// The principal that must have signed it
        #[arg(long, value_name = "PRINCIPAL")]
        signed_by: Option<String>,
    },
    /// Manage the signers you trust (your allowed_signers file)
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Publish a plugin to an OCI registry (CNCF wasm artifact layout)
    Push {
        wasm: PathBuf,
        /// oci://HOST[:PORT]/REPO:TAG
        #[arg(value_name = "REF")]
        reference: String,
        /// Move the tag even when it already names other content
        #[arg(long)]
        force: bool,
    },
    /// Write a new plugin crate: the SDK, the WIT, a working plugin and its tests
    New {
        /// The plugin's name: lowercase letters, digits and `-`
        name: String,
        /// What kind of plugin
        #[arg(long, value_enum)]
        kind: NewKindArg,
        /// The folder to write (default: ./NAME); must be missing or empty
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
    },
    /// Build a plugin crate into a component; prints its path last
    Build {
        /// The plugin crate's folder
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewKindArg {
    Sync,
    RegistryAuth,
    ImageBuilder,
}

/// `ops plugin trust ...`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust a key to sign plugins as PRINCIPAL (adds a line to your
    /// allowed_signers file)
    Add {
        /// Who the key signs for, e.g. vendor@acme.example
        principal: String,
        /// A public key line (`ssh-ed25519 AAAA...`) or a .pub file
        key: String,
    },
    /// Show every trusted and revoked key, with its file, line and fingerprint
    List,
    /// Stop trusting a principal or a key fingerprint (in your file)
    Remove {
        /// A principal or a SHA256:... fingerprint
        what: String,
    },
}
