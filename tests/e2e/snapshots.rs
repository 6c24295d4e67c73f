//! Snapshots of what the real binary prints for the plan (`--dry-run`),
//! `ops config check` and config diagnostics. Ports, temporary paths and
//! the random project name are replaced by placeholders.

use crate::support::build::BuildFixture;

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
