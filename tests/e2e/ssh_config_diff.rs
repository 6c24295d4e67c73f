//! What ops reads from ssh_config, compared with what OpenSSH itself reads:
//! for every case of a corpus, `ssh -G -F FILE HOST` against ops's own
//! resolution of the same file (host name, port, user, identity and
//! certificate files, jump chain, known_hosts files, IdentitiesOnly,
//! HostKeyAlias).
//!
//! OpenSSH expands `~` with the home directory from the password database,
//! not `$HOME`; so ssh runs in a private mount namespace where a temporary
//! home is bind-mounted over that directory, and ops reads the same files
//! with that temporary home. ops's paths are then written with the
//! password-database home to compare.

use std::path::{Path, PathBuf};
use std::process::Command;

use ops::ssh::SshConfigFile;

/// One config (`config` is `~/.ssh/config`, the file given to `-F`),
/// other files under `~/.ssh`, and the hosts to resolve with it.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    hosts: &'static [&'static str],
    /// Hosts resolved again with `-l cli -p 2999`, which ops.toml's user and
    /// port stand for.
    cli: &'static [&'static str],
}

const CORPUS: &[Case] = &[
    Case {
        name: "aliases, patterns and negation",
        files: &[(
            "config",
            "Host build\n  HostName 10.0.0.4\n  User ops\n  Port 2222\n\
             Host *.corp.example !bastion.corp.example\n  User corp\n  Port 2200\n\
             Host node? web-*\n  HostName %h.internal\n\
             Host *\n  User fallback\n  Port 22\n",
        )],
        hosts: &["build", "a.corp.example", "bastion.corp.example", "node1", "node12", "web-x", "BUILD", "other"],
        cli: &["build", "other"],
    },
    Case {
        name: "first value wins, IdentityFile accumulates, tokens",
        files: &[(
            "config",
            "Host a\n  IdentityFile ~/.ssh/a_%h_%r_%p\n  User first\n  Port 1\n\
             Host a b\n  HostName real-%h\n  User second\n  Port 2\n  IdentityFile %d/.ssh/%u-%n\n\
             Host *\n  IdentityFile ~/.ssh/all\n  IdentitiesOnly yes\n  HostKeyAlias alias-%h\n",
        )],
        hosts: &["a", "b", "c"],
        cli: &["a"],
    },
    Case {
        name: "Match host, originalhost, user, localuser, all",
        files: &[(
            "config",
            "Match originalhost short\n  HostName short.corp.example\n\
             Match host *.corp.example user deploy\n  Port 2022\n\
             Match host *.corp.example\n  User deploy\n\
             Match host *.corp.example user deploy\n  Port 3022\n  IdentityFile ~/.ssh/deploy\n\
             Match user nobody-here\n  Port 4022\n\
             Match user cli\n  IdentityFile ~/.ssh/cli-%r\n\
             Match localuser root,!nobody\n  IdentitiesOnly yes\n\
             Match host !*.corp.example,*.example\n  Port 5022\n\
             Match all\n  Port 22\n",
        )],
        hosts: &["short", "x.corp.example", "other.example", "plain"],
        cli: &["x.corp.example"],
    },
    Case {
        name: "Match negated criteria",
        files: &[(
            "config",
            "Match !host *.corp.example !originalhost skip\n  User outside\n\
             Match host *.corp.example !user outside\n  Port 2022\n\
             Match !all\n  Port 1\n",
        )],
        hosts: &["a.corp.example", "skip", "elsewhere"],
        cli: &["a.corp.example"],
    },
    Case {
        name: "Match exec (deliberately not run by ops)",
        files: &[("config", "Match exec \"true\"\n  Port 2023\n")],
        hosts: &["h"],
        cli: &[],
    },
    Case {
        name: "Include with globs, relative paths and blocks",
        files: &[
            (
                "config",
                "Include conf.d/*.conf\nHost inc\n  Include ~/.ssh/only-inc\nHost *\n  User after\n",
            ),
            ("conf.d/10-first.conf", "Host one\n  HostName one.example\n  Port 1001\n"),
            ("conf.d/20-second.conf", "Host one two\n  Port 1002\n  User second\n"),
            ("conf.d/.hidden.conf", "Host *\n  Port 9999\n"),
            ("conf.d/notes.txt", "Host *\n  Port 9998\n"),
            ("only-inc", "Port 1100\nHost one\n  User from-only-inc\n"),
        ],
        hosts: &["one", "two", "inc", "three"],
        cli: &[],
    },
    Case {
        name: "ProxyJump chains and none",
        files: &[(
            "config",
            "Host direct\n  ProxyJump none\n\
             Host deep\n  ProxyJump jump1,ops@jump2:2222\n\
             Host *.behind\n  ProxyJump gw\n\
             Host *\n  ProxyJump fallback-gw\n",
        )],
        hosts: &["direct", "deep", "x.behind", "elsewhere"],
        cli: &[],
    },
    Case {
        name: "known_hosts files, syntax variants",
        files: &[(
            "config",
            "# comment\nHost kh\n  UserKnownHostsFile ~/.ssh/kh_%h ~/.ssh/kh2\n  \
             GlobalKnownHostsFile /etc/ssh/other_known_hosts\n\
             Host nokh\n  UserKnownHostsFile none\n\
             Host eq\n  Port=2201\n  User = \"quoted user\"\n  HostName eq.example # trailing\n\
             host lower\n  hostname LOWER.example\n  port 2300\n\
             Host *\n  CertificateFile ~/.ssh/cert-%h.pub\n",
        )],
        hosts: &["kh", "nokh", "eq", "lower", "Lower"],
        cli: &[],
    },
];

/// Where ops differs on purpose: (case, host, field, what ssh prints, why).
const DELIBERATE: &[(&str, &str, &str, &str, &str)] = &[(
    "Match exec (deliberately not run by ops)",
    "h",
    "port",
    "2023",
    "ops runs no commands from ssh_config, so a `Match exec` block never applies",
)];

/// The fields compared, as `ssh -G` names them.
const FIELDS: &[&str] = &[
    "hostname",
    "port",
    "user",
    "identityfile",
    "certificatefile",
    "proxyjump",
    "userknownhostsfile",
    "globalknownhostsfile",
    "identitiesonly",
    "hostkeyalias",
];

/// OpenSSH's default IdentityFile list, printed when none is configured.
/// ops tries id_ed25519, id_ecdsa and id_rsa itself when the list is
/// empty (it has no security-key, XMSS or DSA support), so an empty list
/// from ops corresponds to this one.
const SSH_DEFAULT_IDENTITIES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

fn pw_home() -> String {
    let out = Command::new("sh")
        .args(["-c", "getent passwd \"$(id -un)\" | cut -d: -f6"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn ssh_g(home: &Path, pw_home: &str, host: &str, cli: bool) -> Vec<(String, String)> {
    let script =
        "mount --bind \"$1\" \"$2\" && h=$2 && shift 2 && exec ssh -G -F \"$h/.ssh/config\" \"$@\"";
    let mut args = vec![pw_home, host];
    if cli {
        args = vec![pw_home, "-l", "cli", "-p", "2999", host];
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(home)
        .args(args)
        .output()
        .expect("unshare and ssh run");
    assert!(
        out.status.success(),
        "ssh -G {host} failed (the test needs root for its mount namespace): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| FIELDS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `ssh -G` prints IdentityFile and CertificateFile before expanding `~`
/// and `%` tokens (ssh expands them when loading keys); this is that
/// expansion, from values ssh itself printed.
fn expand_like_ssh(value: &str, fields: &[(String, String)], pw_home: &str, host: &str) -> String {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let value = match value.strip_prefix("~/") {
        Some(rest) => format!("{pw_home}/{rest}"),
        None => value.to_owned(),
    };
    value
        .replace("%d", pw_home)
        .replace("%h", &get("hostname"))
        .replace("%r", &get("user"))
        .replace("%p", &get("port"))
        .replace("%u", "root")
        .replace("%n", &host.to_ascii_lowercase())
}

fn ops_fields(home: &Path, pw_home: &str, host: &str, cli: bool) -> Vec<(String, String)> {
    let config = SshConfigFile::load_file(&home.join(".ssh/config"), home).unwrap();
    let r = match cli {
        true => config.resolve(host, Some("cli"), Some(2999)),
        false => config.resolve(host, None, None),
    };
    let path = |p: &PathBuf| {
        let s = p.to_string_lossy().into_owned();
        match s.strip_prefix(&*home.to_string_lossy()) {
            Some(rest) => format!("{pw_home}{rest}"),
            None => s,
        }
    };
    let joined = |ps: &[PathBuf]| ps.iter().map(path).collect::<Vec<_>>().join(" ");
    let mut out = vec![
        ("hostname".into(), r.hostname.clone()),
        ("port".into(), r.port.to_string()),
        ("user".into(), r.user.clone()),
    ];
    out.extend(
        r.identity_files
            .iter()
            .map(|p| ("identityfile".into(), path(p))),
    );
    out.extend(
        r.certificate_files
            .iter()
            .map(|p| ("certificatefile".into(), path(p))),
    );
    if !r.proxy_jump.is_empty() {
        out.push(("proxyjump".into(), r.proxy_jump.join(",")));
    }
    let user_kh = if r.user_known_hosts.is_empty() {
        "none".to_owned()
    } else {
        joined(&r.user_known_hosts)
    };
    out.push(("userknownhostsfile".into(), user_kh));
    out.push(("globalknownhostsfile".into(), joined(&r.global_known_hosts)));
    out.push((
        "identitiesonly".into(),
        if r.identities_only { "yes" } else { "no" }.into(),
    ));
    if let Some(alias) = &r.host_key_alias {
        out.push(("hostkeyalias".into(), alias.clone()));
    }
    out
}

fn normalise_ssh(
    fields: Vec<(String, String)>,
    pw_home: &str,
    host: &str,
) -> Vec<(String, String)> {
    let identities: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "identityfile")
        .map(|(_, v)| v.as_str())
        .collect();
    let defaults = identities == SSH_DEFAULT_IDENTITIES;
    fields
        .iter()
        .filter(|(k, _)| !(defaults && k == "identityfile"))
        .map(|(k, v)| match k.as_str() {
            "identityfile" | "certificatefile" => {
                (k.clone(), expand_like_ssh(v, &fields, pw_home, host))
            }
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    // Order matters within a field (first file is the one written to, the
    // first identity is tried first), so only fields are put in order.
    v.sort_by_key(|(k, _)| FIELDS.iter().position(|f| f == k));
    v
}

#[test]
fn ssh_config_resolution_matches_ssh_dash_g() {
    let pw_home = pw_home();
    let mut cases = 0;
    let mut failures = Vec::new();
    for case in CORPUS {
        let home = tempfile::tempdir().unwrap();
        for (name, text) in case.files {
            let path = home.path().join(".ssh").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let runs = case.hosts.iter().map(|h| (h, false));
        for (host, cli) in runs.chain(case.cli.iter().map(|h| (h, true))) {
            cases += 1;
            let ssh = ssh_g(home.path(), &pw_home, host, cli);
            let mut ssh = sorted(normalise_ssh(ssh, &pw_home, host));
            for (name, h, field, value, _why) in DELIBERATE {
                if *name == case.name && h == host {
                    let at = ssh.iter().position(|(k, v)| k == field && v == value);
                    let at = at.unwrap_or_else(|| {
                        panic!("{name}: ssh -G no longer prints {field} {value}")
                    });
                    // What ops gives instead: the value as if the block
                    // did not apply (the default port here).
                    ssh[at].1 = "22".into();
                }
            }
            let ops = sorted(ops_fields(home.path(), &pw_home, host, cli));
            if ssh != ops {
                let how = if cli { " -l cli -p 2999" } else { "" };
                failures.push(format!(
                    "{} / {host}{how}:\n  ssh -G: {ssh:?}\n  ops:    {ops:?}",
                    case.name
                ));
            }
        }
    }
    println!(
        "ssh -G differential: {cases} cases, {} differ, {} deliberate differences",
        failures.len(),
        DELIBERATE.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases >= 30, "the corpus shrank to {cases} cases");
}

/// The same reading end to end: an alias whose settings come from an
/// `Include`d file and a `Match host` block reaches a real sshd.
#[test]
fn include_and_match_settings_reach_the_node() {
    use crate::support::home::TestHome;
    use crate::support::sshd::Sshd;

    let home = TestHome::with_key_elsewhere();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    home.trust(&sshd);
    home.write_ssh_config("Include nodes/*.conf\nHost *\n  Port 1\n");
    home.write(
        ".ssh/nodes/build.conf",
        &format!(
            "Host buildbox\n  HostName 127.0.0.1\n\
             Match host 127.0.0.*\n  Port {}\n  User {}\n  IdentityFile {}\n",
            sshd.port(),
            sshd.user(),
            home.user_key_path().display()
        ),
    );
    home.write("ops.toml", "target = \"buildbox\"\n");
    let out = home.ops().args(["exec", "--", "echo", "reached"]).run();
    out.expect_success();
    assert_eq!(out.stdout, "reached\n");
    assert_eq!(sshd.logins(), 1);
}
