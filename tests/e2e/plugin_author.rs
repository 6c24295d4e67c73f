//! Writing a plugin as an author does, with nothing but `ops` and cargo: a
//! throwaway HOME, `ops plugin new`, `cargo test`, `ops plugin build`, and
//! the component loaded by the host runtime.

use std::path::Path;
use std::sync::Arc;

use ops::plugin::{ComponentCache, Kind, Limits, PluginSource, Runtime};

use crate::support;

/// An author with a throwaway HOME of its own.
struct Author {
    home: tempfile::TempDir,
    author: support::author::Author,
}

impl std::ops::Deref for Author {
    type Target = support::author::Author;
    fn deref(&self) -> &Self::Target {
        &self.author
    }
}

impl Author {
    fn new() -> Author {
        let home = tempfile::Builder::new()
            .prefix("ops-author-")
            .tempdir()
            .unwrap();
        let author = support::author::Author::at(home.path());
        Author { home, author }
    }
}

fn load(name: &str, path: &Path) -> ops::plugin::Metadata {
    let wasm: Arc<[u8]> = std::fs::read(path).unwrap().into();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let host = Runtime::with_cache(Limits::default(), ComponentCache::disabled()).unwrap();
        host.load(
            name,
            PluginSource::Path(path.to_owned()),
            wasm,
            Some(Vec::new()),
        )
        .await
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()))
        .metadata()
        .clone()
    })
}

/// Puts `from` into `into`, table by table; what `into` has stays.
fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge(mine, theirs),
            (Some(_), _) => {}
            (None, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// The ops.toml lines of the crate's README, completed into a project file
/// (the plugin's `path` set to the component just built), pass `ops config
/// check`: the section the scaffold documents is the one its plugin reads
/// and no other plugin refuses.
fn the_readme_config_passes_config_check(author: &Author, name: &str, wasm: &Path) {
    let readme = std::fs::read_to_string(author.home.path().join(name).join("README.md")).unwrap();
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("no toml block in {name}'s README:\n{readme}"));
    let mut config: toml::Table = toml::from_str(block).unwrap();
    let base: toml::Table = toml::from_str(
        "project = \"app\"\ntarget = \"ci@build.example.com\"\n\
         [build]\npath = \"/opt/builds/app\"\ncommand = \"make\"\n",
    )
    .unwrap();
    merge(&mut config, base);
    if config["build"].get("source").is_none() {
        let git: toml::Table =
            toml::from_str("[build.git]\nrepo = \"https://git.example.com/team/app.git\"\n")
                .unwrap();
        merge(&mut config, git);
    }
    let plugin = config["plugins"][name].as_table().cloned().unwrap();
    let mut plugin = plugin;
    plugin.insert("path".into(), wasm.display().to_string().into());
    config["plugins"]
        .as_table_mut()
        .unwrap()
        .insert(name.into(), plugin.into());
    std::fs::write(author.home.path().join("ops.toml"), config.to_string()).unwrap();
    let out = author
        .ops_command()
        .env("TEAM_AUTH_TOKEN", "t0ken")
        // The README grants what the plugin declares; trusting it is the
        // user's step, not what is checked here.
        .env("OPS_TRUST", "1")
        .args(["config", "check"])
        .run();
    assert!(
        out.code == Some(0),
        "{name}'s README config fails `ops config check`:\n{config}\n{}",
        out.stderr
    );
}

#[test]
fn every_kind_scaffolds_tests_natively_builds_and_loads() {
    let author = Author::new();
    let kinds = [
        ("team-sync", "sync", Kind::SyncStrategy, vec!["remote-exec"]),
        (
            "team-auth",
            "registry-auth",
            Kind::RegistryAuth,
            vec!["env:TEAM_AUTH_TOKEN"],
        ),
        (
            "team-image",
            "image-builder",
            Kind::ImageBuilder,
            vec!["remote-exec", "remote-files"],
        ),
    ];
    let mut built = Vec::new();
    for (i, (name, kind, expected_kind, capabilities)) in kinds.iter().enumerate() {
        author
            .ops(&["plugin", "new", name, "--kind", kind])
            .expect_success()
            .expect_stderr_contains(&format!("plugin {name} in {name}"));
        let dir = author.home.path().join(name);
        assert!(dir.join("vendor/ops-plugin-sdk/src/lib.rs").is_file());
        assert!(dir.join("wit/v0.3.0/plugin.wit").is_file());
        author.cargo_test(&dir);

        let (path, elapsed) = author.build(name);
        if i == 0 {
            eprintln!("first scaffold build (std included): {elapsed:.1?}");
        }
        assert_eq!(path, author.target.join(format!("ops/{name}.wasm")));
        let size = std::fs::metadata(&path).unwrap().len();
        eprintln!("{name}: {size} bytes, built in {elapsed:.1?}");

        let meta = load(name, &path);
        assert_eq!(meta.name, *name);
        assert_eq!(meta.kind, *expected_kind);
        assert_eq!(meta.api_version.to_string(), ops::plugin::API_VERSION);
        let declared: Vec<String> = meta.capabilities.iter().map(|c| c.to_string()).collect();
        assert_eq!(&declared, capabilities, "{name}");
        the_readme_config_passes_config_check(&author, name, &path);
        built.push((name, path));
    }

    // Warm and reproducible: the same sources give the same bytes.
    let (name, path) = &built[0];
    let before = std::fs::read(path).unwrap();
    let source = author.home.path().join(name).join("src/lib.rs");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text).unwrap();
    let (again, elapsed) = author.build(&author.home.path().join(name).display().to_string());
    eprintln!("warm rebuild of {name}: {elapsed:.1?}");
    assert_eq!(&again, path);
    assert_eq!(
        std::fs::read(&again).unwrap(),
        before,
        "the rebuild differs"
    );
}

#[test]
fn bad_names_and_used_folders_are_refused() {
    let author = Author::new();
    author
        .ops(&["plugin", "new", "Acme_Sync", "--kind", "sync"])
        .expect_code(2)
        .expect_stderr_contains("invalid plugin name \"Acme_Sync\"");
    author
        .ops(&["plugin", "new", "fn", "--kind", "sync"])
        .expect_code(2)
        .expect_stderr_contains("Rust keyword");
    let used = author.home.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("notes.txt"), "mine").unwrap();
    author
        .ops(&["plugin", "new", "acme", "--kind", "sync", "--path", "used"])
        .expect_code(2)
        .expect_stderr_contains("used exists and is not empty");
    assert_eq!(
        std::fs::read_dir(&used).unwrap().count(),
        1,
        "nothing was added"
    );
    author
        .ops(&["plugin", "new", "acme", "--kind", "nfs"])
        .expect_code(2);
}

#[test]
fn build_refuses_what_is_not_a_plugin_crate() {
    let author = Author::new();
    let dir = author.home.path().join("lib");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"lib\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    author
        .ops(&["plugin", "build", "lib"])
        .expect_code(2)
        .expect_stderr_contains("not a plugin crate: its [lib] crate-type has no \"cdylib\"");
    let empty = author.home.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = author.ops(&["plugin", "build", "empty"]);
    out.expect_code(2)
        .expect_stderr_contains("there is no Cargo.toml; `ops plugin new");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

/// Without `CARGO_TARGET_DIR`, every crate of a user builds in one shared
/// target folder in ops's cache folder: the second crate compiles its own
/// code only, and each component lands in its crate's `target/ops/`.
#[test]
fn crates_share_one_target_folder_in_the_users_cache() {
    let author = Author::new();
    let cache = author.home.path().join(".cache");
    std::fs::create_dir_all(cache.join("ops")).unwrap();
    // The shared folder of this user is the test run's plugin target, where
    // std is already built, so that the test stays fast.
    std::os::unix::fs::symlink(
        support::author::shared_target(),
        cache.join("ops/plugin-target"),
    )
    .unwrap();
    let mut logs = Vec::new();
    for name in ["share-one", "share-two"] {
        author
            .ops(&["plugin", "new", name, "--kind", "sync"])
            .expect_success();
        let out = author
            .ops_command()
            .env_remove("CARGO_TARGET_DIR")
            .env("XDG_CACHE_HOME", &cache)
            .args(["plugin", "build", name])
            .run();
        out.expect_success();
        let crate_dir = author.home.path().join(name);
        let path = out.stdout.lines().last().unwrap().to_owned();
        assert_eq!(
            Path::new(&path),
            crate_dir.join(format!("target/ops/{name}.wasm"))
        );
        assert_eq!(load(name, Path::new(&path)).name, name);
        assert!(
            !crate_dir.join("target/wasm32-unknown-unknown").exists()
                && !crate_dir.join("target/wasm32-wasip2").exists(),
            "cargo built in the crate's own target folder"
        );
        logs.push(out.stderr);
    }
    let second = &logs[1];
    assert!(second.contains("Compiling share-two"), "{second}");
    for shared in [
        "Compiling core ",
        "Compiling std ",
        "Compiling serde ",
        "Compiling wit-bindgen ",
    ] {
        assert!(!second.contains(shared), "built again: {shared}\n{second}");
    }
}
