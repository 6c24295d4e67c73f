//! What a grant really allows, tried by hostile plugins: `local-exec:X`
//! runs the user's X whatever environment the plugin asks for, and
//! `remote-files` writes only inside the build path and the plugin's own
//! scratch directories, through no symbolic link, and never a setuid,
//! setgid or world-writable file.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::sync::Arc;

use ops::config::DeclSource;
use ops::distribution::Registry;
use ops::plugin::{Limits, PluginError, SyncOutcome, SyncRequest};
use ops::remote::RemoteCommand;

use crate::hostile::{self, Cap, Data, REMOTE_FILES};
use crate::recorder::{Call, Recorder, Reply, SCRATCH};
use crate::support::{context, rogue_decl, rogue_section, runtime};

/// Return area of host calls.
const RET: u32 = 512;

/// Loads `wasm` as an installed plugin granted all it declares, and syncs
/// into `path` with `node`.
async fn sync(
    wasm: Arc<[u8]>,
    grants: &[&str],
    node: &Arc<Recorder>,
    path: &str,
) -> Result<SyncOutcome, PluginError> {
    let (rt, cache) = runtime(Limits::default());
    let file = cache.path().join("hostile.wasm");
    std::fs::write(&file, &wasm).unwrap();
    let mut decl = rogue_decl(grants);
    decl.name = "hostile".into();
    decl.source = DeclSource::Path(file);
    let registry = Registry::new(&rt, &[decl]).unwrap();
    let plugin = registry.sync_strategy("hostile").await.unwrap();
    let section = rogue_section("", "");
    let request = SyncRequest {
        section: &section,
        path: path.into(),
        git_ref: None,
        branch: None,
    };
    plugin.sync(&context(node), request).await
}

/// `(call $exec ...)` of `program` with `args` and `env`, then the sync
/// result: the call's error, or ok.
fn local_exec(data: &mut Data, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let program = data.string(program);
    let args = data.strings(args);
    let mut pairs = Vec::new();
    for (k, v) in env {
        let (kp, kl) = data.string(k);
        let (vp, vl) = data.string(v);
        pairs.extend([kp, kl, vp, vl]);
    }
    let env_at = data.words(&pairs);
    let ok = hostile::sync_ok(data, "ran");
    format!(
        "(call $exec (i32.const {}) (i32.const {}) (i32.const {}) (i32.const {}) \
         (i32.const {env_at}) (i32.const {}) {} (i32.const {RET})) {}",
        program.0,
        program.1,
        args.0,
        args.1,
        env.len(),
        "(i32.const 0) ".repeat(9),
        fail_or(ok)
    )
}

/// The sync result after a host call that returned `result<_, string>` in
/// [`RET`]: its error, or `ok`.
fn fail_or(ok: u32) -> String {
    format!("(if (result i32) (i32.load8_u (i32.const {RET})) (then (i32.const {RET})) (else (i32.const {ok})))")
}

const EXEC_IMPORT: &str = r#"(import "ops:plugin/local@0.2.0" "exec" (func $exec (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))"#;

/// Finding: with `local-exec:rsync` granted, the plugin's own `PATH` chose
/// which `rsync` ran: any program of its choosing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_cannot_choose_which_program_a_local_exec_grant_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("evil-ran");
    let evil = dir.path().join("rsync");
    std::fs::write(
        &evil,
        // Shell built-ins only: the plugin's PATH holds nothing else.
        format!("#!/bin/sh\n: > '{}'\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[Cap(2, &["rsync"])]);
    let body = local_exec(
        &mut data,
        "rsync",
        &["--version"],
        &[("PATH", dir.path().to_str().unwrap())],
    );
    let wasm = hostile::component(
        &data,
        EXEC_IMPORT,
        "",
        &format!("(i32.const {meta})"),
        &body,
    );
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let result = sync(wasm, &["local-exec:rsync"], &node, "/p").await;
    assert!(
        !marker.exists(),
        "the plugin's PATH chose the program: {result:?}"
    );
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains(
            "local-exec:rsync refused: plugin hostile may not set PATH, which chooses what \
             program or loader runs"
        ),
        "{err}"
    );

    // The loader's variables are refused the same way.
    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[Cap(2, &["rsync"])]);
    let body = local_exec(
        &mut data,
        "rsync",
        &["--version"],
        &[("LD_PRELOAD", "/x.so")],
    );
    let wasm = hostile::component(
        &data,
        EXEC_IMPORT,
        "",
        &format!("(i32.const {meta})"),
        &body,
    );
    let err = sync(wasm, &["local-exec:rsync"], &node, "/p")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("may not set LD_PRELOAD"), "{err}");
}

const FILE_IMPORTS: &str = r#"
    (import "ops:plugin/node@0.2.0" "write-file" (func $write (param i32 i32 i32 i32 i32 i32)))
    (import "ops:plugin/node@0.2.0" "scratch-dir" (func $scratch (param i32 i32 i32)))
"#;

/// `write-file` of `path` (contents "x") with `mode`; the call's error
/// stops the sync.
fn write(data: &mut Data, path: &str, mode: u32) -> String {
    let path = data.string(path);
    let contents = data.string("echo pwned\n");
    format!(
        "(call $write (i32.const {}) (i32.const {}) (i32.const {}) (i32.const {}) \
         (i32.const {mode}) (i32.const {RET})) \
         (if (i32.load8_u (i32.const {RET})) (then (return (i32.const {RET}))))",
        path.0, path.1, contents.0, contents.1
    )
}

fn scratch(data: &mut Data, name: &str) -> String {
    let name = data.string(name);
    format!(
        "(call $scratch (i32.const {}) (i32.const {}) (i32.const {RET})) \
         (if (i32.load8_u (i32.const {RET})) (then (return (i32.const {RET}))))",
        name.0, name.1
    )
}

/// A plugin granted `remote-files` whose sync does `steps` and succeeds.
fn files_plugin(steps: impl FnOnce(&mut Data) -> String) -> Arc<[u8]> {
    let mut data = Data::new();
    let meta = hostile::metadata(&mut data, &[REMOTE_FILES]);
    let body = steps(&mut data);
    let ok = hostile::sync_ok(&mut data, "wrote");
    hostile::component(
        &data,
        FILE_IMPORTS,
        "",
        &format!("(i32.const {meta})"),
        &format!("{body} (i32.const {ok})"),
    )
}

fn writes(node: &Recorder) -> Vec<(String, u32)> {
    node.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Write { path, mode, .. } => Some((path, mode)),
            _ => None,
        })
        .collect()
}

/// Finding: `remote-files` alone wrote the node user's `~/.bashrc`, run by
/// every later command, and a setuid file in `/tmp`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_files_writes_only_where_the_call_was_given() {
    let node = Arc::new(Recorder::new(|_| Reply::ok()));
    let bashrc = files_plugin(|d| write(d, "/home/builder/.bashrc", 0o644));
    let err = sync(bashrc, &["remote-files"], &node, "/p")
        .await
        .map(|o| o.summary)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "remote-files refused: /home/builder/.bashrc is outside what plugin hostile was \
             given in this call"
        ),
        "{err}"
    );
    let escape = files_plugin(|d| write(d, "/p/../home/builder/.bashrc", 0o644));
    let err = sync(escape, &["remote-files"], &node, "/p")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is outside what plugin hostile"), "{err}");
    let setuid = files_plugin(|d| write(d, "/tmp/sh", 0o4755));
    let err = sync(setuid, &["remote-files"], &node, "/p")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("remote-files refused: mode 4755 for /tmp/sh"),
        "{err}"
    );
    let in_scratch = files_plugin(|d| {
        let dir = scratch(d, "x");
        let file = write(d, &format!("{SCRATCH}/hostile.x/sh"), 0o6755);
        format!("{dir} {file}")
    });
    let err = sync(in_scratch, &["remote-files"], &node, "/p")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("plugins write no setuid, setgid"), "{err}");
    assert_eq!(writes(&node), Vec::<(String, u32)>::new());

    // Its own scratch directory, asked for in this call, is fine.
    let fine = files_plugin(|d| {
        let dir = scratch(d, "x");
        let file = write(d, &format!("{SCRATCH}/hostile.x/key"), 0o600);
        format!("{dir} {file}")
    });
    let outcome = sync(fine, &["remote-files"], &node, "/p").await.unwrap();
    assert_eq!(outcome.summary, "wrote");
    assert_eq!(writes(&node), [(format!("{SCRATCH}/hostile.x/key"), 0o600)]);
}

/// Runs each command here, as the node's `sh` would.
fn local_node() -> Arc<Recorder> {
    Arc::new(Recorder::new(|command: &RemoteCommand| {
        use std::io::Write;
        let mut child = std::process::Command::new(&command.program)
            .args(&command.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = command.stdin.clone().unwrap_or_default();
        // A refusal exits before reading its input.
        let _ = child.stdin.take().unwrap().write_all(&stdin);
        let out = child.wait_with_output().unwrap();
        Reply {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
            ..Reply::default()
        }
    }))
}

/// A repository can hold symbolic links: one in the build path must not
/// lead a write out of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_files_follows_no_symbolic_link_out_of_the_build_path() {
    let build = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let root = build.path().to_str().unwrap().to_owned();
    std::os::unix::fs::symlink(home.path(), build.path().join("link")).unwrap();
    std::os::unix::fs::symlink(home.path().join(".bashrc"), build.path().join("rc")).unwrap();
    let node = local_node();
    for target in ["link/.bashrc", "rc"] {
        let path = format!("{root}/{target}");
        let plugin = files_plugin(|d| write(d, &path, 0o644));
        let result = sync(plugin, &["remote-files"], &node, &root).await;
        assert!(
            !home.path().join(".bashrc").exists(),
            "{target}: written through the link ({result:?})"
        );
        let err = result.unwrap_err().to_string();
        assert!(err.contains("is a symbolic link"), "{target}: {err}");
    }
    let path = format!("{root}/generated.txt");
    let plugin = files_plugin(|d| write(d, &path, 0o640));
    sync(plugin, &["remote-files"], &node, &root).await.unwrap();
    let written = std::fs::metadata(&path).unwrap();
    assert_eq!(written.permissions().mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "echo pwned\n");
}
