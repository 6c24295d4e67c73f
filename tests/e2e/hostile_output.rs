//! Hostile output through a real `ops build`: the build command prints what
//! a hostile repository would (a registry token in the encodings Docker and
//! HTTP give it, terminal control sequences, one endless line), and a
//! hostile ops.toml names a device as a file to read. What reaches the
//! terminal, the JSON events and the run log is masked, neutralised and
//! bounded, and ops's own memory stays bounded.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::support::build::BuildFixture;
use crate::support::eventually::poll;

/// The longest line ops shows whole (`remote::MAX_LINE`).
const MAX_LINE: usize = 16 * 1024;

/// Every run log's text; panics if there is none, so that "not in the
/// log" cannot pass because no log was written or looked at.
#[track_caller]
fn run_logs(fx: &BuildFixture) -> String {
    let runs = fx.home.path().join(".local/state/ops/runs");
    let read_dir = |dir: &std::path::Path| -> Vec<PathBuf> {
        fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
            .map(|entry| entry.unwrap_or_else(|e| panic!("{dir:?}: {e}")).path())
            .collect()
    };
    let mut text = String::new();
    let mut logs = 0;
    for project in read_dir(&runs) {
        for log in read_dir(&project) {
            text.push_str(&fs::read_to_string(&log).unwrap_or_else(|e| panic!("{log:?}: {e}")));
            logs += 1;
        }
    }
    assert!(logs > 0, "no run log under {runs:?}");
    text
}

/// A file on the node (the node's disk is this machine's) that the build
/// command prints, as a build that read the registry login's config did.
fn leak_file(fx: &BuildFixture, text: &str) -> PathBuf {
    let path = fx.dir().join("leak.txt");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_encoding_of_the_registry_token_is_masked_everywhere() {
    let mut fx = BuildFixture::new();
    let (user, token) = (fx.registry.username(), fx.registry.token());
    let auth = STANDARD.encode(format!("{user}:{token}"));
    let straddling = format!("{}{token}{}", "x".repeat(MAX_LINE - 4), "y".repeat(64));
    let leaks = [
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            fx.registry.host()
        ),
        format!("Authorization: Basic {auth}"),
        format!("base64: {}", STANDARD.encode(token)),
        format!(
            "base64url: {}",
            URL_SAFE_NO_PAD.encode(format!("ab{token}\n"))
        ),
        format!("hex: {}", hex_of(token)),
        straddling.clone(),
    ];
    let leak = leak_file(&fx, &format!("{}\n", leaks.join("\n")));
    fx.config.command = format!("cat {} && sh build.sh", leak.display());

    let human = fx.build(&["--service", "api", "-v"]);
    human.expect_success();
    let json = fx.build(&["--service", "api", "--output", "json"]);
    json.expect_success();
    let log = run_logs(&fx);
    // The cut of the long line must not show the token's start either.
    let cut_start = format!("{}{}", "x".repeat(MAX_LINE - 4), &token[..4]);
    let mut forms: Vec<String> = leaks[..5]
        .iter()
        .map(|l| {
            l.rsplit(['"', ' '])
                .find(|w| w.len() > 8)
                .unwrap()
                .to_owned()
        })
        .collect();
    forms.push(token.to_owned());
    for (place, text) in [
        ("terminal", &human.stderr),
        ("JSON events", &json.stdout),
        ("run log", &log),
    ] {
        assert!(text.contains("***"), "nothing masked in the {place}");
        for form in &forms {
            let middle = &form[form.len() / 2 - 4..form.len() / 2 + 4];
            assert!(
                !text.contains(form.as_str()) && !text.contains(middle),
                "{form} (or its middle {middle}) in the {place}:\n{}",
                tail(text)
            );
        }
        assert!(
            !text.contains(&cut_start),
            "the cut showed the token's start"
        );
    }
}

#[test]
fn control_sequences_in_build_output_are_shown_not_obeyed() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    let attack = "\x1b[2K\x1b[1A\r    Finished release [optimized]\x1b]0;pwned\x07\u{9b}2J done\n";
    let leak = leak_file(&fx, attack);
    fx.config.command = format!("cat {}", leak.display());
    let human = fx.build(&[]);
    human.expect_success();
    let json = fx.build(&["--output", "json"]);
    json.expect_success();
    let log = run_logs(&fx);
    for (place, text) in [("terminal", &human.stderr), ("run log", &log)] {
        assert!(
            !text.contains(['\x1b', '\r', '\x07', '\u{9b}']),
            "a control character reached the {place}: {text:?}"
        );
        // `\r` ends a line, as a progress bar's does: the fake line is
        // shown as a line of the build's own, under its label.
        for shown in [
            "[build] \\x1b[2K\\x1b[1A\n",
            "[build]     Finished release [optimized]\\x1b]0;pwned\\x07\\u{9b}2J done\n",
        ] {
            assert!(text.contains(shown), "{place}: {text:?}");
        }
    }
    // JSON keeps the text as it came, escaped the JSON way.
    for shown in [
        r#""line":"\u001b[2K\u001b[1A""#,
        r#""line":"    Finished release [optimized]\u001b]0;pwned\u0007\u009b2J done""#,
    ] {
        assert!(json.stdout.contains(shown), "{}", json.stdout);
    }
}

/// ops's peak resident memory over the whole run, from the kernel's
/// accounting of the exited process (the same figure as /proc's VmHWM).
fn peak_rss_mib(child: std::process::Child) -> (i32, u64, String) {
    let mut child = child;
    let mut stderr = child.stderr.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let out = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `child` is our own unwaited child; wait4 reaps it once.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let _ = out.join();
    let err = err.join().unwrap();
    let shown = String::from_utf8_lossy(&err[err.len().saturating_sub(4096)..]).into_owned();
    (
        libc::WEXITSTATUS(status),
        usage.ru_maxrss as u64 / 1024,
        shown,
    )
}

#[test]
fn a_300_mb_line_of_build_output_keeps_ops_under_200_mib() {
    let mut fx = BuildFixture::new();
    fx.config.image = None;
    fx.config.command =
        "head -c 300000000 /dev/zero | tr '\\0' x; echo; echo after-the-long-line".into();
    fx.write_config();
    let child = fx.ops().arg("build").spawn();
    let (code, peak, stderr) = peak_rss_mib(child);
    eprintln!("peak RSS of ops: {peak} MiB");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("[build] after-the-long-line"), "{stderr}");
    assert!(stderr.contains("more bytes left out]"), "{stderr}");
    assert!(peak < 200, "ops peaked at {peak} MiB:\n{stderr}");
}

#[test]
fn a_device_named_as_a_file_fails_fast_with_a_clear_error() {
    let fx = BuildFixture::new();
    let with_plugin = format!(
        "{}\n[plugins.rsync]\npath = \"/dev/zero\"\ngrant = [\"remote-exec\"]\n",
        fx.config
            .to_toml()
            .replace("source = \"git\"", "source = \"rsync\"")
    );
    fx.home.write("ops.toml", &with_plugin);
    for args in [
        &["config", "check", "-f", "/dev/zero"][..],
        &["config", "check"][..],
        &["build"][..],
    ] {
        let mut child = fx.ops().args(args).spawn();
        let status = poll(Duration::from_secs(60), || {
            match child.try_wait().unwrap() {
                Some(status) => Ok(status),
                None => Err(()),
            }
        })
        .unwrap_or_else(|()| {
            let _ = child.kill();
            panic!(
                "`ops {}` still reading /dev/zero after 60 s",
                args.join(" ")
            )
        });
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(2), "ops {}: {stderr}", args.join(" "));
        assert!(
            stderr.contains("/dev/zero") && stderr.contains("not a regular file"),
            "ops {}: {stderr}",
            args.join(" ")
        );
        assert_eq!(fx.node.logins(), 0, "ops {} connected", args.join(" "));
    }
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(3000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
