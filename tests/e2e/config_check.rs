//! `ops config check` validates what `ops build --dry-run` does without
//! touching the node, and `ops init` writes a config it accepts.

use std::process::Command;

use crate::support::build::BuildFixture;
use crate::support::home::TestHome;

#[test]
fn config_check_says_what_it_checked_and_touches_nothing() {
    let fx = BuildFixture::new();
    fx.write_config();
    let out = fx.ops().args(["config", "check"]).run();
    out.expect_success();
    for needle in [
        "ops.toml: checked",
        "every $NAME variable is set",
        "git plugin",
        "validated [build.git]",
        "docker plugin validated [build.image]",
        "ops.toml is valid",
    ] {
        out.expect_stderr_contains(needle);
    }
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());
}

#[test]
fn config_check_shows_a_plugins_complaint_at_its_line() {
    let fx = BuildFixture::new();
    let toml = format!("{}platforms = [\"linux\"]\n", fx.config.to_toml());
    fx.home.write("ops.prod.toml", &toml);
    let line = toml.lines().count();
    let out = fx
        .ops()
        .args(["config", "check", "-f", "ops.prod.toml"])
        .run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.prod.toml:{line}:13: `build.image.platforms`"));
    out.expect_stderr_contains(&format!("{line} | platforms = [\"linux\"]"));
    out.expect_stderr_contains("^^^^^^^");
    assert_eq!(fx.node.logins(), 0);
}

#[test]
fn init_writes_a_config_that_checks_and_never_overwrites() {
    let home = TestHome::new();
    let project = home.path().join("shop");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"shop\"\n[[bin]]\nname = \"api\"\n[[bin]]\nname = \"worker\"\n",
    )
    .unwrap();
    std::fs::write(project.join("Dockerfile"), "FROM scratch\n").unwrap();
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(&project)
        .status()
        .unwrap();
    assert!(git.success());
    let remote = Command::new("git")
        .args([
            "remote",
            "add",
            "origin",
            "https://git.example.com/shop.git",
        ])
        .current_dir(&project)
        .status()
        .unwrap();
    assert!(remote.success());

    home.ops()
        .current_dir(&project)
        .arg("init")
        .run()
        .expect_success();
    let written = std::fs::read_to_string(project.join("ops.toml")).unwrap();
    assert!(
        written.contains("services = [\"api\", \"worker\"]"),
        "{written}"
    );
    assert!(
        written.contains("repo = \"https://git.example.com/shop.git\""),
        "{written}"
    );
    assert!(written.contains("dockerfile = \"Dockerfile\""), "{written}");

    let check = home
        .ops()
        .current_dir(&project)
        .args(["config", "check"])
        .run();
    check.expect_success();

    let again = home.ops().current_dir(&project).arg("init").run();
    again.expect_code(2);
    again.expect_stderr_contains("never overwrites");
    assert_eq!(
        std::fs::read_to_string(project.join("ops.toml")).unwrap(),
        written
    );
}

#[test]
fn exec_refuses_a_typo_in_a_plugins_section_before_connecting() {
    let fx = BuildFixture::new();
    let toml = fx
        .config
        .to_toml()
        .replacen("[build.image]\n", "[build.image]\nbogus_key = 1\n", 1);
    fx.home.write("ops.toml", &toml);
    let line = toml
        .lines()
        .position(|l| l == "bogus_key = 1")
        .expect("the typo is in the file")
        + 1;
    let out = fx.ops().args(["exec", "--", "echo", "ran"]).run();
    out.expect_code(2);
    out.expect_stderr_contains(&format!("ops.toml:{line}:13: `build.image.bogus_key`"));
    assert!(!out.stdout.contains("ran"), "{}", out.stdout);
    assert_eq!(fx.node.logins(), 0, "{}", fx.node.log());

    // The same file without the typo runs.
    fx.write_config();
    fx.ops()
        .args(["exec", "--", "echo", "ran"])
        .run()
        .expect_success();
    assert_eq!(fx.node.logins(), 1, "{}", fx.node.log());
}
