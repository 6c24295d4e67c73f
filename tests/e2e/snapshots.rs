//! Snapshots of what the real binary prints for the plan (`--dry-run`),
//! `ops config check` and config diagnostics. Ports, temporary paths and
//! the random project name are replaced by placeholders.

use std::time::Duration;

use crate::support::build::BuildFixture;
use crate::support::eventually::wait_until;
use crate::support::ops::wait_within;

fn normalise(fx: &BuildFixture, text: &str) -> String {
    let name = fx.repo("x");
    let name = name.trim_end_matches("/x");
    text.replace(&fx.config.path, "[build-path]")
        .replace(&fx.node.destination(), "[node]")
        .replace(&fx.registry.host(), "[registry]")
        .replace(&fx.dir().display().to_string(), "[dir]")
        .replace(name, "[project]")
}

#[test]
fn dry_run_plan() {
    let fx = BuildFixture::new();
    let out = fx.build(&["--dry-run", "--tag", "v1.2.0", "-j", "2"]);
    out.expect_success();
    insta::assert_snapshot!(normalise(&fx, &out.stderr));
}

#[test]
fn config_check_report() {
    let fx = BuildFixture::new();
    fx.write_config();
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_success();
    insta::assert_snapshot!(normalise(&fx, &out.stderr));
}

#[test]
fn diagnostics_point_at_the_line() {
    let fx = BuildFixture::new();
    let base = fx.config.to_toml();
    let cases = [
        (
            "unknown key",
            base.replace("[build.image]", "[build.image]\nservics = []"),
        ),
        (
            "wrong type",
            base.replace("[build.image]", "[build.image]\nbuild_args = 3"),
        ),
        (
            "plugin validation",
            format!("{base}platforms = [\"linux\"]\n"),
        ),
        (
            "missing variable",
            base.replace(
                "[build.image]",
                "[build.image]\ncache_to = \"$OPS_TEST_NOT_SET\"",
            ),
        ),
    ];
    let mut report = String::new();
    for (what, toml) in cases {
        fx.home.write("ops.toml", &toml);
        let out = fx.ops().args(["config", "check"]).run();
        out.expect_code(2);
        report += &format!("## {what}\n{}\n", normalise(&fx, &out.stderr));
    }
    fx.home.write("ops.toml", &base);
    let out = fx
        .ops()
        .args(["build", "--service", "wrker", "--dry-run"])
        .run();
    out.expect_code(2);
    report += &format!("## service\n{}", normalise(&fx, &out.stderr));
    insta::assert_snapshot!(report);
    assert_eq!(fx.node.logins(), 0);
}

/// The human output of `ops build` with what changes from run to run
/// replaced: besides [`normalise`]'s, the git origin's and the client
/// home's paths, the run log's name, durations, digests, image ids and
/// commit hashes (each where a word starts, not inside one). What docker
/// prints for an image (`[service] ...` lines, and its last lines quoted in
/// the error) is docker's and varies between runs (buildkit runs steps
/// in parallel, mounts have random names): a block of it is one
/// placeholder line. The summary table's cells are kept, not its padding.
fn normalise_run(fx: &BuildFixture, text: &str) -> String {
    let origin = fx.origin.path().parent().expect("the origin's directory");
    let node = format!("{}@[127.0.0.1]:{}", fx.node.user(), fx.node.port());
    let text = normalise(fx, text)
        .replace(&node, "[node]")
        .replace(&origin.display().to_string(), "[origin]")
        .replace(&fx.home.path().display().to_string(), "[home]");
    let text = replace_variables(&text);
    let services = fx
        .config
        .image
        .as_ref()
        .map(|image| image.services.clone())
        .unwrap_or_default();
    let mut lines: Vec<String> = Vec::new();
    let mut table = false;
    for line in text.lines() {
        // The table runs from its header to the first line not indented.
        table = (table && line.starts_with("  ")) || line.trim_start().starts_with("SERVICE ");
        if table {
            // Column widths follow the widest value, a duration among them;
            // the cells hold no spaces once normalised.
            let cells: Vec<&str> = line.split_whitespace().collect();
            lines.push(format!("  {}", cells.join("  ")));
            continue;
        }
        let docker = services
            .iter()
            .find(|s| line.starts_with(&format!("[{s}] ")) || line == format!("[{s}]"));
        if let Some(service) = docker {
            let placeholder = format!("[{service}] [docker output]");
            if lines.last() != Some(&placeholder) {
                lines.push(placeholder);
            }
        } else if line.starts_with("full log: ") {
            lines.push("full log: [run log]".into());
        } else if let Some((head, _)) = line.split_once("failed (exit code 1): ") {
            lines.push(format!("{head}failed (exit code 1): [docker output]"));
        } else {
            lines.push(line.to_owned());
        }
    }
    lines.join("\n") + "\n"
}

/// Durations, digests and hex ids where a word starts, as placeholders.
fn replace_variables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut word_start = true;
    while let Some(c) = rest.chars().next() {
        if let Some((placeholder, len)) = word_start.then(|| variable_at(rest)).flatten() {
            out.push_str(placeholder);
            rest = &rest[len..];
            word_start = false;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            word_start = !c.is_ascii_alphanumeric();
        }
    }
    out
}

/// A value at the start of `text` that differs between runs, as its
/// placeholder and its length: `sha256:` digests, hex ids of 12 or more
/// digits (commits, image and layer ids), and durations (`1.2s`, `850ms`,
/// `1m 3s`) that do not follow a letter or digit.
fn variable_at(text: &str) -> Option<(&'static str, usize)> {
    if let Some(hex) = text.strip_prefix("sha256:") {
        let n = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
        if n == 64 {
            return Some(("[digest]", 7 + n));
        }
    }
    let hex = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .count();
    if hex >= 12 {
        return Some(("[hex]", hex));
    }
    let mut len = 0;
    let bytes = text.as_bytes();
    loop {
        let digits = bytes[len..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
        if digits == 0 {
            break;
        }
        let unit = ["ms", "s", "m", "h"]
            .into_iter()
            .find(|u| text[len + digits..].starts_with(u))?;
        let after = len + digits + unit.len();
        if bytes.get(after).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
        len = after;
        if bytes.get(len) == Some(&b' ') && bytes.get(len + 1).is_some_and(u8::is_ascii_digit) {
            len += 1;
        } else {
            break;
        }
    }
    (len > 0).then_some(("[duration]", len))
}

#[test]
fn build_success_output() {
    let fx = BuildFixture::new();
    let out = fx.build_ok(&["-j", "1", "--tag", "v1"]);
    insta::assert_snapshot!(normalise_run(&fx, &out.stderr));
}

#[test]
fn build_failed_command_output() {
    let mut fx = BuildFixture::new();
    fx.config.command = "echo compiling; echo 'error: it broke' >&2; exit 3".into();
    let out = fx.build(&["-j", "1"]);
    out.expect_code(5);
    insta::assert_snapshot!(normalise_run(&fx, &out.stderr));
}

#[test]
fn build_failed_image_output() {
    let mut fx = BuildFixture::new();
    // build.sh writes no binary for "ghost": its image's COPY fails.
    fx.image_config().services = vec!["ghost".into()];
    let out = fx.build(&["-j", "1"]);
    out.expect_code(6);
    insta::assert_snapshot!(normalise_run(&fx, &out.stderr));
}

#[test]
fn build_interrupted_output() {
    let mut fx = BuildFixture::new();
    let started = fx.marker("started");
    fx.config.command = format!(
        "echo building; touch '{}'; sleep 60; echo never",
        started.display()
    );
    fx.write_config();
    let child = fx.ops().args(["build", "-j", "1"]).spawn();
    wait_until(
        Duration::from_secs(60),
        "the build command starting",
        || started.exists(),
    );
    // SAFETY: signalling the ops process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = wait_within(child, Duration::from_secs(60));
    out.expect_code(130);
    insta::assert_snapshot!(normalise_run(&fx, &out.stderr));
}
