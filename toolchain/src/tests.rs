//! The toolchain's methods and the command it builds with.

use super::*;

#[test]
fn methods_name_their_target_and_whether_cargo_makes_a_component() {
    assert_eq!(Method::RustupWasip2.target(), "wasm32-wasip2");
    assert!(!Method::RustupWasip2.needs_componentizing());
    assert_eq!(Method::RustupUnknown.target(), "wasm32-unknown-unknown");
    assert!(Method::DebianBuildStd.needs_componentizing());
    assert_eq!(
        linker_env("wasm32-unknown-unknown"),
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER"
    );
}

#[test]
fn no_toolchain_names_what_to_install() {
    let message = Error::NoToolchain {
        tried: vec![Method::RustupWasip2, Method::DebianBuildStd],
    }
    .to_string();
    assert!(
        message.contains("rustup target add wasm32-wasip2"),
        "{message}"
    );
    assert!(message.contains("rustc-web"), "{message}");
}

fn debian_toolchain() -> Toolchain {
    Toolchain {
        method: Method::DebianBuildStd,
        cargo: "/usr/bin/cargo".into(),
        rustc: "/usr/bin/rustc".into(),
        rust_src: Some("/usr/lib/rustlib/src/rust".into()),
        linker: Some("/l/rust-lld".into()),
        description: String::new(),
    }
}

fn env_of(cmd: &Command, name: &str) -> Option<String> {
    cmd.get_envs()
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
}

/// A target folder of this test process, removed on drop.
struct Target(PathBuf);

impl Target {
    fn new(tag: &str) -> Target {
        Target(
            std::env::temp_dir().join(format!("ops-toolchain-test-{tag}-{}", std::process::id())),
        )
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_build_remaps_machine_paths() {
    let toolchain = debian_toolchain();
    let target = Target::new("remaps");
    let cmd = toolchain
        .build_command(Path::new("/home/a/acme"), &target.0)
        .unwrap();
    let env = |name: &str| env_of(&cmd, name);
    let flags = env("CARGO_ENCODED_RUSTFLAGS").unwrap();
    // Neither folder is in the flags that std is built with.
    assert!(!flags.contains("/home/a"), "{flags}");
    assert!(!flags.contains(&*target.0.to_string_lossy()), "{flags}");
    assert_eq!(env("OPS_PLUGIN_PARENT_DIR").as_deref(), Some("/home/a"));
    let target_remap = env("OPS_PLUGIN_TARGET_DIR").unwrap();
    assert_eq!(Path::new(&target_remap), target.0);
    assert!(flags.contains("=/rustc-src"), "{flags}");
    assert_eq!(env("RUSTC_BOOTSTRAP").as_deref(), Some("1"));
    assert_eq!(
        env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER").as_deref(),
        Some("/l/rust-lld")
    );
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    assert_eq!(args[0], "build");
    assert!(args.contains(&"-Zbuild-std=std,panic_abort".into()));
    // A plugin crate's library is built as a cdylib alone, with the
    // same flags.
    let lib = toolchain
        .build_cdylib_command(Path::new("/home/a/acme"), &target.0)
        .unwrap();
    let lib_args: Vec<_> = lib.get_args().map(|a| a.to_string_lossy()).collect();
    assert_eq!(lib_args[..4], ["rustc", "--lib", "--crate-type", "cdylib"]);
    assert_eq!(lib_args[4..], args[1..]);
    assert_eq!(env_of(&lib, "CARGO_ENCODED_RUSTFLAGS"), Some(flags));
    assert_eq!(
        toolchain.artifact(Path::new("/tmp/t"), "acme_sync"),
        Path::new("/tmp/t/wasm32-unknown-unknown/release/acme_sync.wasm")
    );
}

#[test]
fn the_wrapper_puts_the_folder_first_then_the_target_folder() {
    let target = Target::new("wrapper");
    let cmd = debian_toolchain()
        .build_command(Path::new("/home/a/acme"), &target.0)
        .unwrap();
    assert_eq!(
        env_of(&cmd, "OPS_PLUGIN_RUSTC").as_deref(),
        Some("/usr/bin/rustc")
    );
    let wrapper = env_of(&cmd, "RUSTC").unwrap();
    let run_wrapper = |target_dir: Option<&str>| {
        let mut run = Command::new(&wrapper);
        run.args(["--crate-name", "acme"])
            .env("OPS_PLUGIN_RUSTC", "/bin/echo")
            .env("OPS_PLUGIN_PARENT_DIR", "/home/a")
            .env_remove("OPS_PLUGIN_TARGET_DIR");
        if let Some(dir) = target_dir {
            run.env("OPS_PLUGIN_TARGET_DIR", dir);
        }
        String::from_utf8(run.output().unwrap().stdout).unwrap()
    };
    assert_eq!(
        run_wrapper(Some("/t/x y")),
        "--remap-path-prefix=/home/a=/ops --remap-path-prefix=/t/x y=/target --crate-name acme\n"
    );
    assert_eq!(
        run_wrapper(None),
        "--remap-path-prefix=/home/a=/ops --crate-name acme\n"
    );
}

#[test]
fn a_target_folder_inside_the_parent_takes_the_folders_remap() {
    let target = Target::new("inside");
    let cmd = debian_toolchain()
        .build_command(&target.0.join("acme"), &target.0.join("acme/target"))
        .unwrap();
    assert_eq!(env_of(&cmd, "OPS_PLUGIN_TARGET_DIR"), None, "{cmd:?}");
}
