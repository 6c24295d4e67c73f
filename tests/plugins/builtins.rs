use ops::distribution::Registry;
use ops::plugin::{Kind, Limits, LoadSource, PluginSource, API_VERSION};

use crate::support::runtime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_loads_and_describes_itself() {
    let (rt, _dir) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let expected = [
        ("git", Kind::SyncStrategy),
        ("rsync", Kind::SyncStrategy),
        ("docker", Kind::ImageBuilder),
        ("buildah", Kind::ImageBuilder),
        ("token-auth", Kind::RegistryAuth),
    ];
    let names: Vec<&str> = registry.entries().map(|(n, _)| n).collect();
    assert_eq!(names, expected.map(|(n, _)| n));
    for (name, kind) in expected {
        let plugin = registry
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let meta = plugin.metadata();
        assert_eq!(meta.name, name);
        assert_eq!(meta.kind, kind, "{name}");
        assert_eq!(meta.version.to_string(), "0.1.0");
        assert_eq!(meta.api_version.to_string(), API_VERSION);
        assert_eq!(plugin.api_target().to_string(), API_VERSION);
        assert_eq!(plugin.source(), &PluginSource::Builtin);
        assert_eq!(plugin.load_source(), LoadSource::Compiled { stored: true });
        assert_eq!(plugin.sha256().len(), 64);
    }
    // The handle of the wrong kind is refused with both kinds named.
    let err = registry
        .image_builder("git")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("sync-strategy") && err.contains("image-builder"),
        "{err}"
    );
    let err = registry.get("svn").await.err().unwrap().to_string();
    assert!(
        err.contains("svn") && err.contains("git, rsync, docker, buildah, token-auth"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsync_validates_and_never_fakes_a_sync() {
    use crate::recorder::{Recorder, Reply};
    use std::sync::Arc;

    let (rt, _dir) = runtime(Limits::default());
    let registry = Registry::builtins(&rt);
    let rsync = registry.sync_strategy("rsync").await.unwrap();
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let ctx = crate::support::context(&node);
    let config = crate::support::config(
        "[build]\npath = \"/opt/b\"\nsource = \"push\"\n[build.push]\nexclude = [\"target/\", \"\"]\nexclud = 1\n",
        &[],
    );
    let section = config.build.unwrap().push.unwrap();
    let err = rsync
        .validate(&ctx, &section)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ops.toml:5:") && err.contains("is empty"),
        "{err}"
    );
    assert!(
        err.contains("ops.toml:6:1") && err.contains("did you mean `exclude`"),
        "{err}"
    );

    let good = crate::support::config(
        "[build]\npath = \"/opt/b\"\nsource = \"push\"\n[build.push]\nexclude = [\"target/\"]\n",
        &[],
    );
    let section = good.build.unwrap().push.unwrap();
    rsync.validate(&ctx, &section).await.unwrap();
    // The recorder is no SSH session, so it offers no remote shell: the
    // plugin must stop there without faking a sync or running anything (the
    // real transport is covered end to end).
    let err = rsync
        .sync(
            &ctx,
            ops::plugin::SyncRequest {
                section: &section,
                path: "/opt/b x".into(),
                git_ref: None,
                branch: None,
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no remote shell"), "{err}");
    assert_eq!(ops::exit::ExitStatusOf::exit(&err), ops::exit::Exit::Sync);
    assert!(node.calls().is_empty(), "{:?}", node.calls());
}
