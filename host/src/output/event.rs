use serde::Serialize;

use super::event_values::{ImageStatus, LogLevel, Step, Stream};
use crate::domain::PluginKind;

/// Version of the JSON event schema (docs/output.md), carried by every
/// event as `"schema"`. Adding an event or a field keeps it; removing or
/// changing the meaning of one raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// Something that happened during a run. Human output renders these as
/// lines; `--output json` prints each as one JSON object per line with an
/// `"event"` field naming the variant.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A numbered step of `ops build` began.
    StepStarted {
        step: Step,
        detail: String,
    },
    /// A step ended successfully.
    StepFinished {
        step: Step,
        seconds: f64,
    },
    /// A line of a remote or local program's output, under its label.
    Output {
        label: String,
        stream: Stream,
        line: String,
        /// The plugin that ran the program calls this line progress
        /// chatter: shown only with `-v`. Absent when false.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        progress: bool,
    },
    /// A plugin's log line.
    PluginLog {
        plugin: String,
        level: LogLevel,
        message: String,
    },
    /// One image was built or pushed.
    Image {
        service: String,
        image: String,
        status: ImageStatus,
        digest: Option<String>,
        /// The platforms of a multi-platform image (its digest is then the
        /// image index's); empty when the builder did not say.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        platforms: Vec<String>,
        seconds: f64,
    },
    /// One file of `build.artifacts` was written on this machine.
    Artifact {
        /// Where it was written.
        path: String,
        bytes: u64,
        /// Its permission bits, in octal (`755`).
        mode: String,
        /// Of its bytes, in hex.
        sha256: String,
    },
    /// `ops node prune` (or the `[node]` policy after a push) removed an
    /// image name, or an image without one (`dry_run`: would remove).
    Pruned {
        /// The name, or the id of an image without one.
        image: String,
        /// The build it belongs to (`ops.build`: when that run started).
        build: String,
        /// What removing it frees at most (0 when another name keeps the
        /// image).
        bytes: u64,
        dry_run: bool,
    },
    /// What a prune did, after its `pruned` events.
    PruneSummary {
        builds_kept: u64,
        builds_removed: u64,
        images_removed: u64,
        /// Bytes the removed images freed at most.
        image_bytes: u64,
        /// Build cache freed (for a dry run, above the limit); absent when
        /// the cache was not pruned.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_freed: Option<u64>,
        /// Scratch and run directories of runs that are over.
        stale_dirs: u64,
        dry_run: bool,
    },
    /// `ops node df`: what the project takes on the node.
    NodeDisk {
        build_path: String,
        /// Bytes under it; absent when it does not exist yet.
        build_path_bytes: Option<u64>,
        /// The project's images, builds and their bytes; absent without
        /// `[build.image]`.
        images: Option<u64>,
        builds: Option<u64>,
        image_bytes: Option<u64>,
        cache_bytes: Option<u64>,
        /// Free and total bytes of the build path's filesystem.
        free_bytes: Option<u64>,
        size_bytes: Option<u64>,
        /// The same for the image builder's storage, when it is elsewhere.
        #[serde(skip_serializing_if = "Option::is_none")]
        store_free_bytes: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        store_mount: Option<String>,
    },
    /// One kept connection, listed by `ops connection status`.
    Connection {
        destination: String,
        age_secs: u64,
        idle_secs: u64,
        leases: u64,
        leased: bool,
        /// Kept by this build's keeper (the one runs use).
        current: bool,
    },
    /// `ops connection stop` closed a kept connection.
    ConnectionClosed {
        destination: String,
    },
    /// One plugin, listed by `ops plugin list`.
    Plugin {
        name: String,
        kind: PluginKind,
        version: String,
        api_version: String,
        /// `builtin`, the component's path, or `store:` and where an
        /// installed plugin came from.
        source: String,
        sha256: String,
        description: String,
    },
    /// `ops plugin install` put a plugin in the per-user store.
    PluginInstalled {
        name: String,
        version: String,
        /// The version it replaced, when it was installed before.
        previous_version: Option<String>,
        kind: PluginKind,
        api_version: String,
        source: String,
        sha256: String,
        /// Declared, one `grant = [...]` entry each.
        capabilities: Vec<String>,
        /// The lines a project adds to ops.toml to use it.
        config: String,
    },
    /// `ops plugin remove` took a plugin out of the store.
    PluginRemoved {
        name: String,
        version: String,
    },
    /// `ops plugin info`: one plugin and what the project grants it.
    PluginInfo {
        name: String,
        kind: PluginKind,
        version: String,
        api_version: String,
        source: String,
        sha256: String,
        capabilities: Vec<String>,
        /// `grant = [...]` of `[plugins.<name>]` in `config`; for a
        /// built-in, what it declares.
        granted: Vec<String>,
        /// The ops.toml read for `granted`, if there is one.
        config: Option<String>,
    },
    /// `ops plugin push` published a plugin.
    PluginPushed {
        name: String,
        version: String,
        reference: String,
        digest: String,
    },
    /// `ops plugin outdated`: one plugin picked by a version range.
    PluginOutdated {
        name: String,
        /// The `version` requirement in ops.toml.
        requirement: String,
        /// The version ops.lock records, if any.
        locked: Option<String>,
        /// The newest release in range whose plugin API this ops loads.
        newest_in_range: Option<String>,
        /// Its plugin API version.
        newest_in_range_api: Option<String>,
        /// The newest release of all.
        newest: Option<String>,
        /// Why `newest` is not what `ops plugin update` would take.
        held_back: Option<String>,
    },
    /// Informational message from ops itself.
    Info {
        message: String,
    },
    Warning {
        message: String,
    },
    /// The run failed; `code` is the process exit code.
    Error {
        message: String,
        code: u8,
    },
    /// Where the full log of this run is kept (printed when a run fails).
    RunLog {
        path: String,
    },
    /// The run's closing summary, also when it failed (`ok` false), with
    /// every image as far as it got.
    Summary {
        ok: bool,
        images: Vec<ImageSummary>,
        /// The artifacts written on this machine (`build.artifacts`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        artifacts: Vec<ArtifactSummary>,
        seconds: f64,
        /// Round trips to the node the run had to wait on (known when it
        /// ran to the end).
        #[serde(skip_serializing_if = "Option::is_none")]
        round_trips: Option<u64>,
    },
}

/// One JSON line: the schema version, then the event's own fields.
#[derive(Serialize)]
pub(super) struct Envelope<'a> {
    pub schema: u32,
    #[serde(flatten)]
    pub event: &'a Event,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    pub service: String,
    pub image: String,
    pub status: ImageStatus,
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    pub seconds: f64,
}

/// One artifact written on this machine, as the summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactSummary {
    pub path: String,
    pub bytes: u64,
    pub mode: String,
    pub sha256: String,
}
