//! A build node for the rootless buildah builder: the fixture's sshd lets
//! a non-root user in (buildah runs rootless only as one), with subordinate
//! id ranges, made once per machine and kept (like the packages the
//! harness installs). The user's HOME (buildah's storage and config) and
//! TMPDIR are the fixture's, as for every fixture.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::build::BuildFixture;

/// The node's login user for buildah tests.
pub const NODE_USER: &str = "opsbuild";

/// Creates [`NODE_USER`] with a home and subuid/subgid ranges unless it
/// exists. Test processes start in parallel: a machine-wide lock lets one
/// of them change the account files at a time (`usermod` fails when
/// another holds /etc/shadow's lock, and two could add the same range).
pub fn ensure_node_user() {
    let _lock = super::docker::lock_file("/tmp/ops-test-node-user.lock");
    let exists = || {
        Command::new("id")
            .arg(NODE_USER)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !exists() {
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", NODE_USER])
            .status();
        assert!(exists(), "useradd {NODE_USER} failed (tests run as root)");
    }
    // useradd leaves the account locked (`!`), and sshd without PAM lets
    // no locked account in, even with a key; `*` is no password at all.
    let locked = fs::read_to_string("/etc/shadow")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with(&format!("{NODE_USER}:!")));
    if locked {
        let status = Command::new("usermod")
            .args(["-p", "*", NODE_USER])
            .status()
            .expect("usermod runs");
        assert!(status.success(), "usermod -p {NODE_USER} failed");
    }
    for (file, flag) in [
        ("/etc/subuid", "--add-subuids"),
        ("/etc/subgid", "--add-subgids"),
    ] {
        let listed = fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(&format!("{NODE_USER}:")));
        if !listed {
            let status = Command::new("usermod")
                .args([flag, "300000-365535", NODE_USER])
                .status()
                .expect("usermod runs");
            assert!(status.success(), "usermod {flag} {NODE_USER} failed");
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A directory for a node `PATH` that has every program of /usr/bin but
/// `left_out` (a node where it is not installed).
pub fn path_without(left_out: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("ops-node-bin-")
        .tempdir()
        .expect("bin dir");
    for entry in fs::read_dir("/usr/bin").expect("read /usr/bin").flatten() {
        if entry.file_name() != left_out {
            let _ = std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name()));
        }
    }
    chmod(dir.path(), 0o755);
    dir
}

/// Makes `dir` and everything in it readable by other users.
fn open_tree(dir: &Path) {
    let status = Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir)
        .status()
        .expect("chmod runs");
    assert!(status.success());
}

impl BuildFixture {
    /// A fixture whose node is [`NODE_USER`] and whose `[build.image]`
    /// uses `plugin = "buildah"`.
    pub fn buildah() -> BuildFixture {
        Self::buildah_with_env(&[])
    }

    /// [`BuildFixture::buildah`] whose node sessions also get `env`.
    pub fn buildah_with_env(env: &[(&str, &str)]) -> BuildFixture {
        ensure_node_user();
        let mut fx = BuildFixture::with_node_env(env);
        // sshd reads the authorized keys as the user logging in.
        chmod(fx.node.dir(), 0o755);
        chmod(&fx.node.dir().join("authorized_keys"), 0o644);
        // The node user clones the origin and owns the node's files.
        open_tree(fx.origin.url().as_ref());
        if let Some(parent) = Path::new(&fx.origin.url()).parent() {
            chmod(parent, 0o755);
        }
        let status = Command::new("chown")
            .args(["-R", &format!("{NODE_USER}:")])
            .arg(fx.dir())
            .status()
            .expect("chown runs");
        assert!(status.success());
        let home = fx.node_home();
        // buildah's storage, and its runroot (by default one per user in
        // /var/tmp, which parallel fixtures would share), in the fixture.
        let config = home.join(".config/containers");
        fs::create_dir_all(&config).unwrap();
        fs::write(
            config.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{}\"\ngraphroot = \"{}\"\n",
                home.join("containers-run").display(),
                home.join("containers-storage").display()
            ),
        )
        .unwrap();
        // The origin belongs to root; git refuses other users' repositories.
        fs::write(home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").unwrap();
        let status = Command::new("chown")
            .args(["-R", &format!("{NODE_USER}:")])
            .arg(&home)
            .status()
            .expect("chown runs");
        assert!(status.success());
        fx.config.target = format!("{NODE_USER}@127.0.0.1:{}", fx.node.port());
        fx.image_config().extra = "plugin = \"buildah\"\n".into();
        fx
    }
}
