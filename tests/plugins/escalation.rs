//! Resolving the plugins a project uses: no silent escalation (a plugin
//! that declares more than its grant covers is stopped before it runs),
//! ops.lock written on first use and checked after, `--locked`, names that
//! are unknown or of the wrong kind, plugins from the user's store, and
//! `url` plugins served from the download cache when ops.lock pins them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ops::config::Config;
use ops::distribution::downloads::{Downloads, Fetcher};
use ops::distribution::fetch::FetchError;
use ops::distribution::lockfile::LockFile;
use ops::distribution::project::{resolve, LockMode, ProjectError, Use};
use ops::distribution::store::{Installed, Store};
use ops::distribution::Registry;
use ops::exit::{Exit, ExitStatusOf};
use ops::plugin::{Kind, Limits, Runtime};
use sha2::Digest;

use crate::support::{rogue_path, runtime};

const ALL: &str = r#"["remote-exec", "local-exec:touch", "local-exec:env", "env:OPS_ROGUE_VAR"]"#;

struct Project {
    dir: tempfile::TempDir,
    store: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("ops.toml")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.path().join("ops.lock")
    }

    fn config(&self, text: &str) -> Config {
        std::fs::write(self.file(), text).unwrap();
        Config::parse(&self.file(), text, &|_: &str| None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn registry(&self, rt: &Runtime, config: &Config) -> Registry {
        Registry::new(rt, &config.plugins)
            .unwrap()
            .with_store(Store::at(self.store.path()))
    }

    async fn resolve(&self, rt: &Runtime, text: &str, mode: LockMode) -> Result<(), ProjectError> {
        let config = self.config(text);
        let mut registry = self.registry(rt, &config);
        resolve(&mut registry, &config, &[sync_use(&config)], &mode)
            .await
            .map(|_| ())
    }
}

fn sync_use(config: &Config) -> Use {
    let build = config.build.as_ref().unwrap();
    Use {
        name: build.sync_plugin().to_owned(),
        kind: Kind::SyncStrategy,
        key: "build.source".into(),
        at: build.source.as_ref().unwrap().at.clone(),
    }
}

fn rogue_toml(grant: &str) -> String {
    format!(
        "[build]\nsource = \"rogue\"\n[build.rogue]\naction = \"log\"\n\n[plugins.rogue]\npath = {:?}\ngrant = {grant}\n",
        rogue_path().display().to_string()
    )
}

fn rogue_sha() -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(rogue_path()).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_declaring_more_than_granted_is_stopped_before_it_runs() {
    let (rt, _cache) = runtime(Limits::default());
    let p = Project::new();
    let err = p
        .resolve(&rt, &rogue_toml(r#"["remote-exec"]"#), LockMode::Write)
        .await
        .unwrap_err();
    assert_eq!(err.exit(), Exit::Usage);
    let text = err.to_string();
    assert!(
        text.contains(
            "plugin rogue 0.1.0 declares capabilities it was not granted: local-exec:touch, \
             local-exec:env, env:OPS_ROGUE_VAR; it was stopped before it ran."
        ),
        "{text}"
    );
    assert!(text.contains(&format!("grant = {ALL}")), "{text}");
    assert!(text.contains("under [plugins.rogue] ("), "{text}");
    assert!(
        !p.lock_path().exists(),
        "nothing recorded for a plugin that did not run"
    );

    // The grant line it suggests is enough.
    p.resolve(&rt, &rogue_toml(ALL), LockMode::Write)
        .await
        .unwrap();
    assert!(p.lock_path().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_lock_is_written_on_first_use_and_checked_after() {
    let (rt, _cache) = runtime(Limits::default());
    let p = Project::new();
    let toml = rogue_toml(ALL);

    // --locked without ops.lock: refused, saying what would be written.
    let err = p.resolve(&rt, &toml, LockMode::Locked).await.unwrap_err();
    assert_eq!(err.exit(), Exit::Usage);
    let text = err.to_string();
    assert!(text.contains("--locked: "), "{text}");
    assert!(
        text.contains("does not exist; it would be written with plugin rogue sha256"),
        "{text}"
    );
    assert!(text.contains(&rogue_sha()), "{text}");
    assert!(!p.lock_path().exists());

    p.resolve(&rt, &toml, LockMode::Write).await.unwrap();
    let lock = LockFile::read(&p.lock_path()).unwrap();
    let entry = lock.get("rogue").unwrap();
    assert_eq!(entry.sha256, rogue_sha());
    assert_eq!(entry.version, "0.1.0");
    assert_eq!(entry.source, rogue_path().display().to_string());
    assert_eq!(
        entry.capabilities,
        [
            "remote-exec",
            "local-exec:touch",
            "local-exec:env",
            "env:OPS_ROGUE_VAR"
        ]
    );
    let written = std::fs::read_to_string(p.lock_path()).unwrap();
    p.resolve(&rt, &toml, LockMode::Write).await.unwrap();
    p.resolve(&rt, &toml, LockMode::Locked).await.unwrap();
    assert_eq!(std::fs::read_to_string(p.lock_path()).unwrap(), written);

    // Another digest in ops.lock: refused, naming both and the line.
    let other = "ab".repeat(32);
    std::fs::write(p.lock_path(), written.replace(&rogue_sha(), &other)).unwrap();
    for mode in [LockMode::Write, LockMode::Locked, LockMode::Check] {
        let err = p.resolve(&rt, &toml, mode).await.unwrap_err();
        assert_eq!(err.exit(), Exit::Usage);
        let text = err.to_string();
        let line = written
            .lines()
            .position(|l| l.starts_with("sha256"))
            .unwrap()
            + 1;
        assert!(
            text.starts_with(&format!("{}:{line}: ", p.lock_path().display())),
            "{text}"
        );
        assert!(
            text.contains(&rogue_sha()) && text.contains(&other),
            "{text}"
        );
        assert!(text.contains("ops plugin update rogue"), "{text}");
    }

    // Accepting the change rewrites the entry.
    let (_, changes) = {
        let config = p.config(&toml);
        let mut registry = p.registry(&rt, &config);
        resolve(
            &mut registry,
            &config,
            &[sync_use(&config)],
            &LockMode::update(None),
        )
        .await
        .unwrap()
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old.as_ref().unwrap().sha256, other);
    assert_eq!(changes[0].new.sha256, rogue_sha());
    assert_eq!(std::fs::read_to_string(p.lock_path()).unwrap(), written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_new_since_the_locked_version_are_named() {
    let (rt, _cache) = runtime(Limits::default());
    let p = Project::new();
    std::fs::write(
        p.lock_path(),
        format!(
            "[plugins.rogue]\nsource = \"rogue.wasm\"\nversion = \"0.0.9\"\nsha256 = \"{}\"\n\
             capabilities = [\"remote-exec\", \"local-exec:touch\"]\n",
            "cd".repeat(32)
        ),
    )
    .unwrap();
    let err = p
        .resolve(
            &rt,
            &rogue_toml(r#"["remote-exec", "local-exec:touch"]"#),
            LockMode::Write,
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(
            "rogue 0.1.0 declares capabilities that 0.0.9 in ops.lock did not: local-exec:env, \
             env:OPS_ROGUE_VAR"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("grant = {ALL}")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_and_wrong_kinds_are_config_errors_at_their_key() {
    let (rt, _cache) = runtime(Limits::default());
    let p = Project::new();
    let toml = rogue_toml(ALL)
        .replace("source = \"rogue\"", "source = \"rouge\"")
        .replace("[build.rogue]", "[build.rouge]");
    let err = p.resolve(&rt, &toml, LockMode::Write).await.unwrap_err();
    assert_eq!(err.exit(), Exit::Usage);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2:", p.file().display())),
        "{text}"
    );
    assert!(text.contains("no plugin named `rouge`"), "{text}");
    assert!(text.contains("did you mean `rogue`?"), "{text}");
    assert!(
        text.contains("install it with `ops plugin install"),
        "{text}"
    );

    let toml = "[build]\nsource = \"token-auth\"\n";
    let err = p.resolve(&rt, toml, LockMode::Write).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2:", p.file().display())),
        "{text}"
    );
    assert!(
        text.contains("`token-auth` is a registry-auth plugin, but build.source must name a sync-strategy plugin"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_from_the_store_gets_only_its_grant() {
    let (rt, _cache) = runtime(Limits::default());
    let p = Project::new();
    let bytes = std::fs::read(rogue_path()).unwrap();
    let installed = Installed {
        name: "rogue".into(),
        version: "0.1.0".into(),
        kind: "sync-strategy".parse().unwrap(),
        api_version: "0.1.0".into(),
        source: "/somewhere/rogue.wasm".into(),
        sha256: rogue_sha(),
        capabilities: vec![],
        description: String::new(),
    };
    Store::at(p.store.path()).put(&installed, &bytes).unwrap();

    // Named but not declared: granted nothing, so stopped.
    let bare = "[build]\nsource = \"rogue\"\n";
    let err = p.resolve(&rt, bare, LockMode::Write).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("declares capabilities it was not granted: remote-exec,"),
        "{text}"
    );
    assert!(text.contains("in a [plugins.rogue] table of"), "{text}");

    // Declared with the grant and no path: the store's plugin.
    let granted = format!("{bare}[plugins.rogue]\ngrant = {ALL}\n");
    p.resolve(&rt, &granted, LockMode::Write).await.unwrap();
    let lock = LockFile::read(&p.lock_path()).unwrap();
    assert_eq!(lock.get("rogue").unwrap().source, "installed");
}

struct Counting {
    calls: AtomicUsize,
    bytes: Vec<u8>,
}

impl Fetcher for Counting {
    fn fetch(&self, _source: &str) -> Result<Vec<u8>, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.bytes.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_plugin_pinned_by_ops_lock_and_cached_is_not_fetched() {
    let (rt, cache) = runtime(Limits::default());
    let p = Project::new();
    let fetcher = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        bytes: std::fs::read(rogue_path()).unwrap(),
    });
    let downloads = Downloads::at(cache.path().join("downloads"));
    let toml = format!(
        "[build]\nsource = \"rogue\"\n[plugins.rogue]\nurl = \"https://plugins.example/rogue.wasm\"\ngrant = {ALL}\n"
    );
    let run = |fetcher: Arc<Counting>| {
        let config = p.config(&toml);
        let mut registry = p
            .registry(&rt, &config)
            .with_fetcher(downloads.clone(), fetcher);
        async move {
            resolve(
                &mut registry,
                &config,
                &[sync_use(&config)],
                &LockMode::Write,
            )
            .await
            .map(|_| ())
        }
    };
    run(fetcher.clone()).await.unwrap();
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    let lock = LockFile::read(&p.lock_path()).unwrap();
    assert_eq!(
        lock.get("rogue").unwrap().source,
        "https://plugins.example/rogue.wasm"
    );
    assert!(cache
        .path()
        .join(format!("downloads/{}.wasm", rogue_sha()))
        .is_file());

    run(fetcher.clone()).await.unwrap();
    assert_eq!(
        fetcher.calls.load(Ordering::SeqCst),
        1,
        "served from the download cache"
    );

    // `ops plugin update` fetches again.
    let config = p.config(&toml);
    let mut registry = p
        .registry(&rt, &config)
        .with_fetcher(downloads.clone(), fetcher.clone());
    resolve(
        &mut registry,
        &config,
        &[sync_use(&config)],
        &LockMode::update(None),
    )
    .await
    .unwrap();
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
}
