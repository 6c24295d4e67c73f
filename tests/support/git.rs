//! Git origins for the build tests, made with the real git CLI: a bare
//! repository on local disk seeded from `examples/hello` with branches,
//! tags and a submodule, reachable by path or over SSH with a deploy key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::sshd::Sshd;

/// Branch that `GitOrigin::local` checks out by default (the origin's HEAD).
pub const MAIN: &str = "main";
/// Branch that forks from the tagged release and changes VERSION.
pub const FEATURE: &str = "feature";
/// Annotated tag on the first commit of `main`.
pub const RELEASE_TAG: &str = "v1.0.0";
/// Lightweight tag on the tip of `main`.
pub const LIGHT_TAG: &str = "light";
/// Where the submodule sits in the work tree.
pub const SUBMODULE_PATH: &str = "vendor/greeting";

/// The example project the origins start from.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello")
}

/// A `git` command that ignores the machine's and user's git config, so
/// tests behave the same everywhere, with a fixed identity.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "ops tests")
        .env("GIT_AUTHOR_EMAIL", "tests@ops.invalid")
        .env("GIT_COMMITTER_NAME", "ops tests")
        .env("GIT_COMMITTER_EMAIL", "tests@ops.invalid")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null());
    cmd
}

/// Runs `git ARGS` in `dir`, panicking with its output unless it succeeds;
/// returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_command(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} in {} failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A bare origin repository plus a work clone used to add history to it.
///
/// `local()` history (VERSION is what `build.sh` writes into each image's
/// /service.txt, so a test can tell which ref was built):
///
/// ```text
/// main:    A (VERSION "hello 1.0.0", tag v1.0.0) -- B (VERSION "hello main",
///          submodule vendor/greeting, tag light)
/// feature: A -- C (VERSION "hello feature")
/// ```
pub struct GitOrigin {
    /// Holds the repositories; removed on drop.
    _dir: TempDir,
    bare: PathBuf,
    work: PathBuf,
}

impl GitOrigin {
    /// A bare repository `hello.git` with the history above, its HEAD on `main`.
    pub fn local() -> GitOrigin {
        let origin = Self::empty();
        let work = &origin.work;
        copy_tree(&example_dir(), work);
        fs::write(work.join("VERSION"), "hello 1.0.0\n").expect("write VERSION");
        git(work, &["add", "-A"]);
        git(work, &["commit", "-q", "-m", "hello 1.0.0"]);
        git(work, &["tag", "-a", RELEASE_TAG, "-m", "release 1.0.0"]);
        git(work, &["push", "-q", "origin", MAIN, RELEASE_TAG]);

        git(work, &["checkout", "-q", "-b", FEATURE]);
        origin.commit("feature work", &[("VERSION", "hello feature\n")]);
        git(work, &["checkout", "-q", MAIN]);

        // The submodule's URL is relative, so it resolves against wherever
        // the superproject was cloned from: a path here, ssh:// over SSH.
        git(
            work,
            &[
                "-c",
                "protocol.file.allow=always",
                "submodule",
                "add",
                "-q",
                "../greeting.git",
                SUBMODULE_PATH,
            ],
        );
        fs::write(work.join("VERSION"), "hello main\n").expect("write VERSION");
        git(work, &["add", "-A"]);
        git(
            work,
            &["commit", "-q", "-m", "hello main, with a vendored greeting"],
        );
        git(work, &["tag", LIGHT_TAG]);
        git(work, &["push", "-q", "origin", MAIN, LIGHT_TAG]);
        origin
    }

    /// A bare repository with no commits, a work clone of it, and the
    /// submodule's bare repository `greeting.git` beside it (one commit).
    pub fn empty() -> GitOrigin {
        let dir = tempfile::Builder::new()
            .prefix("ops-test-origin-")
            .tempdir()
            .expect("origin dir");
        let bare = dir.path().join("hello.git");
        let work = dir.path().join("work");
        let submodule_bare = dir.path().join("greeting.git");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", MAIN, "hello.git"],
        );
        git(dir.path(), &["init", "-q", "-b", MAIN, "work"]);
        git(
            &work,
            &["remote", "add", "origin", &bare.display().to_string()],
        );

        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", MAIN, "greeting.git"],
        );
        let sub_work = dir.path().join("greeting-work");
        git(dir.path(), &["init", "-q", "-b", MAIN, "greeting-work"]);
        fs::write(sub_work.join("VERSION"), "greeting 0.1\n").expect("write submodule file");
        git(&sub_work, &["add", "-A"]);
        git(&sub_work, &["commit", "-q", "-m", "greeting 0.1"]);
        git(
            &sub_work,
            &["push", "-q", &submodule_bare.display().to_string(), MAIN],
        );
        fs::remove_dir_all(&sub_work).expect("remove submodule work tree");

        GitOrigin {
            _dir: dir,
            bare,
            work,
        }
    }

    /// The bare repository, usable as `build.git.repo` on this machine.
    pub fn path(&self) -> &Path {
        &self.bare
    }

    /// `path()` as a string, for ops.toml.
    pub fn url(&self) -> String {
        self.bare.display().to_string()
    }

    /// The work clone; commits made in it reach the origin through `push`.
    pub fn work_tree(&self) -> &Path {
        &self.work
    }

    /// Writes `files` (path, content) in the work clone on its current
    /// branch, commits them and pushes the branch. Returns the commit SHA.
    pub fn commit(&self, message: &str, files: &[(&str, &str)]) -> String {
        for (path, content) in files {
            let file = self.work.join(path);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).expect("create parent dir");
            }
            fs::write(&file, content).expect("write file");
            git(&self.work, &["add", "--", path]);
        }
        git(
            &self.work,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        let branch = git(&self.work, &["rev-parse", "--abbrev-ref", "HEAD"]);
        git(&self.work, &["push", "-q", "origin", &branch]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Checks out `branch` in the work clone, creating it from `from` if it
    /// does not exist yet; later `commit`s go there.
    pub fn checkout(&self, branch: &str, from: &str) {
        let exists = git_command(&self.work)
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .status()
            .expect("git rev-parse")
            .success();
        if exists {
            git(&self.work, &["checkout", "-q", branch]);
        } else {
            git(&self.work, &["checkout", "-q", "-b", branch, from]);
        }
    }

    /// Tags `target` (annotated when `message` is given) and pushes the tag.
    pub fn tag(&self, name: &str, target: &str, message: Option<&str>) {
        match message {
            Some(m) => git(&self.work, &["tag", "-a", name, "-m", m, target]),
            None => git(&self.work, &["tag", name, target]),
        };
        git(
            &self.work,
            &["push", "-q", "origin", &format!("refs/tags/{name}")],
        );
    }

    /// Makes `branch` the origin's default branch (its HEAD).
    pub fn set_default_branch(&self, branch: &str) {
        git(
            &self.bare,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")],
        );
    }

    /// The commit a ref (branch, tag, SHA) names in the origin.
    pub fn rev_parse(&self, rev: &str) -> String {
        git(&self.bare, &["rev-parse", &format!("{rev}^{{commit}}")])
    }

    /// A file's content at `rev` in the origin.
    pub fn file_at(&self, rev: &str, path: &str) -> String {
        git(&self.bare, &["show", &format!("{rev}:{path}")])
    }

    /// The URL of this origin through an sshd on 127.0.0.1:`port` that
    /// logs `user` in: `ssh://USER@127.0.0.1:PORT/ABS/PATH/hello.git`.
    pub fn ssh_url(&self, user: &str, port: u16) -> String {
        format!("ssh://{user}@127.0.0.1:{port}{}", self.bare.display())
    }

    /// Serves this origin over SSH: a fresh deploy key and an sshd of its
    /// own that lets in that key and no other, so a clone that works proves
    /// the deploy key was used.
    pub fn over_ssh(&self) -> SshOrigin {
        let key = DeployKey::generate();
        let sshd = Sshd::builder().authorize(key.public_key()).start();
        let known_hosts = key.dir.path().join("known_hosts");
        fs::write(&known_hosts, sshd.known_hosts_line() + "\n").expect("write known_hosts");
        SshOrigin {
            url: self.ssh_url(sshd.user(), sshd.port()),
            sshd,
            key,
            known_hosts,
        }
    }
}

/// A `GitOrigin` reachable as `ssh://USER@127.0.0.1:PORT/.../hello.git`
/// (its submodule as `.../greeting.git` through the relative URL).
pub struct SshOrigin {
    url: String,
    sshd: Sshd,
    key: DeployKey,
    known_hosts: PathBuf,
}

impl SshOrigin {
    /// `build.git.repo` for ops.toml.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The deploy key: `private_key_path()` is `build.git.ssh_key`.
    pub fn key(&self) -> &DeployKey {
        &self.key
    }

    /// The sshd serving the origin (its log counts the git logins).
    pub fn sshd(&self) -> &Sshd {
        &self.sshd
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, the origin's host key.
    pub fn known_hosts_line(&self) -> String {
        self.sshd.known_hosts_line()
    }

    /// A known_hosts file holding only `known_hosts_line()`.
    pub fn known_hosts_path(&self) -> &Path {
        &self.known_hosts
    }

    /// `GIT_SSH_COMMAND` for a local git that reaches the origin with the
    /// deploy key and strict host key checking.
    pub fn git_ssh_command(&self) -> String {
        git_ssh_command(self.key.private_key_path(), &self.known_hosts)
    }
}

/// An SSH keypair for git only: its public key goes into the sshd's
/// authorized_keys, its private key file is `build.git.ssh_key`.
pub struct DeployKey {
    dir: TempDir,
    private: PathBuf,
    public: String,
}

impl DeployKey {
    /// A fresh ed25519 key without passphrase.
    pub fn generate() -> DeployKey {
        let dir = tempfile::Builder::new()
            .prefix("ops-test-deploy-key-")
            .tempdir()
            .expect("deploy key dir");
        let private = dir.path().join("deploy_key");
        let out = Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "ops-test-deploy-key",
                "-f",
            ])
            .arg(&private)
            .stdin(Stdio::null())
            .output()
            .expect("run ssh-keygen (install openssh-client)");
        assert!(
            out.status.success(),
            "ssh-keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = fs::read_to_string(private.with_extension("pub"))
            .expect("read deploy public key")
            .trim()
            .to_owned();
        DeployKey {
            dir,
            private,
            public,
        }
    }

    /// The private key file.
    pub fn private_key_path(&self) -> &Path {
        &self.private
    }

    /// The `ssh-ed25519 AAAA... comment` line for authorized_keys.
    pub fn public_key(&self) -> &str {
        &self.public
    }
}

/// `GIT_SSH_COMMAND` for a local git that must use only `key` and trust only
/// the hosts in `known_hosts` (strict checking, no agent, no user config).
pub fn git_ssh_command(key: &Path, known_hosts: &Path) -> String {
    format!(
        "ssh -F /dev/null -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
         -o StrictHostKeyChecking=yes -o UserKnownHostsFile={} -i {}",
        known_hosts.display(),
        key.display()
    )
}

/// Copies a directory tree (regular files and directories; permissions kept).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create copy target");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// `len` bytes of hex digits from a xorshift generator: text git and gzip
/// can barely compress, for syncs that must take a while or fill a disk.
pub fn incompressible_text(len: usize, seed: u64) -> String {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdef"[(state & 15) as usize])
        })
        .collect()
}
