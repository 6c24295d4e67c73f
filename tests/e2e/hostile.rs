//! Hostile values in every place a value reaches the node: option-like
//! words, newlines, NUL, `..` and absolute paths, shell syntax. Each is
//! refused before anything runs (exit 2) or reaches its program as one
//! literal word, which then fails or succeeds on its own terms; none is
//! ever executed, read as an option, or lets a path escape.

use std::fs;

use crate::support::build::{toml_string, BuildFixture};

/// The values tried everywhere; `{M}` is replaced by the marker's path.
const VALUES: &[&str] = &[
    "-rf",
    "--foo",
    "a\nb",
    "a\u{0}b",
    "../../escape",
    "/etc/passwd",
    "$(touch${IFS}{M})",
];

/// Where a value goes, and the exit codes it may end in.
enum Place {
    Arg(&'static str, &'static [i32]),
    /// A key of `[build]`, `[build.git]` or `[build.image]`, written as TOML.
    Key(&'static str, &'static str, &'static [i32]),
    /// A key of `[build.image]` whose TOML value is the template with
    /// `{}` replaced by the quoted value.
    Raw(&'static str, &'static str, &'static [i32]),
}

const PLACES: &[Place] = &[
    Place::Arg("--ref", &[2, 4]),
    Place::Arg("--tag", &[2]),
    Place::Arg("--service", &[2]),
    Place::Key("build", "path", &[2, 4]),
    Place::Key("build", "branch", &[2, 4]),
    Place::Key("build.git", "repo", &[2, 4]),
    Place::Key("build.image", "dockerfile", &[2, 6]),
    Place::Key("build.image", "binary_arg", &[2]),
    Place::Key("build.image", "target", &[2, 6]),
    Place::Raw("build_args", "{ HOSTILE = {} }", &[0, 2]),
    Place::Raw("build_args", "{ {} = \"x\" }", &[2]),
    Place::Raw("services", "[{}]", &[2]),
];

/// `[section]` of the fixture's TOML with `key = value` in it (replacing
/// the key where it is already set).
fn with_key(toml: &str, section: &str, key: &str, value: &str) -> String {
    let header = format!("[{section}]\n");
    let start = toml.find(&header).expect("section present") + header.len();
    let end = toml[start..]
        .find("\n[")
        .map_or(toml.len(), |i| start + i + 1);
    let body: String = toml[start..end]
        .lines()
        .filter(|l| !l.starts_with(&format!("{key} =")))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{}{body}{key} = {value}\n{}", &toml[..start], &toml[end..])
}

#[test]
fn hostile_values_everywhere_are_refused_or_taken_literally() {
    let fx = BuildFixture::new();
    let marker = fx.marker("hostile");
    let m = marker.display().to_string();
    let home_before: Vec<String> = listing(&fx.node_home());
    let mut wrong = Vec::new();
    let mut tried = 0;
    for place in PLACES {
        for raw in VALUES {
            let value = raw.replace("{M}", &m);
            let quoted = toml_string(&value);
            let base = fx.config.to_toml();
            let (toml, args, codes) = match place {
                Place::Arg(flag, codes) => (base, vec![format!("{flag}={value}")], *codes),
                Place::Key(section, key, codes) => {
                    (with_key(&base, section, key, &quoted), vec![], *codes)
                }
                Place::Raw(key, template, codes) => (
                    with_key(&base, "build.image", key, &template.replace("{}", &quoted)),
                    vec![],
                    *codes,
                ),
            };
            if args.iter().any(|a| a.contains('\0')) {
                // No program can receive a NUL in its arguments.
                continue;
            }
            fx.home.write("ops.toml", &toml);
            let out = fx
                .ops()
                .arg("build")
                .args(["--service", "api", "--no-push"])
                .args(&args)
                .run();
            tried += 1;
            let code = out.code.unwrap_or(-1);
            if marker.exists() {
                panic!("{value:?} was executed\n{}", out.stderr);
            }
            if !codes.contains(&code) {
                wrong.push(format!(
                    "{} {value:?}: exit {code}, expected one of {codes:?}\n{}",
                    place_name(place),
                    out.stderr.lines().last().unwrap_or_default()
                ));
            }
        }
    }
    let home_after = listing(&fx.node_home());
    assert_eq!(
        home_before, home_after,
        "a value created files in the node's home"
    );
    eprintln!("{tried} hostile values tried");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn place_name(place: &Place) -> String {
    match place {
        Place::Arg(flag, _) => flag.to_string(),
        Place::Key(section, key, _) => format!("{section}.{key}"),
        Place::Raw(key, template, _) => format!("build.image.{key} = {template}"),
    }
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
