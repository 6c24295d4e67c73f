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
