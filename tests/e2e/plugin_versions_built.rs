//! Version ranges with releases as a vendor makes them: one crate from
//! `ops plugin new`, built with `ops plugin build` at two versions, each
//! pushed with `ops plugin push`; the range picks, `update --precise`
//! moves back, `outdated` names what is held back.

use crate::support::author::Author;
use crate::support::build::BuildFixture;

const NAME: &str = "acme-sync";

/// Builds the crate, after moving its version from `from` to `to`, and
/// pushes it under the tag `to`.
fn release(fx: &BuildFixture, author: &Author, from: &str, to: &str) {
    let manifest = fx.home.path().join(NAME).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let old = format!("version = \"{from}\"");
    assert!(text.contains(&old), "{text}");
    std::fs::write(
        &manifest,
        text.replacen(&old, &format!("version = \"{to}\""), 1),
    )
    .unwrap();
    let (wasm, _) = author.build(NAME);
    let reference = format!("oci://{}/vendor/{NAME}:{to}", fx.registry.host());
    fx.ops()
        .args(["plugin", "push"])
        .arg(&wasm)
        .arg(&reference)
        .run()
        .expect_success();
}

fn lock(fx: &BuildFixture) -> String {
    std::fs::read_to_string(fx.home.path().join("ops.lock")).unwrap_or_default()
}

#[test]
fn releases_built_with_ops_plugin_build_resolve_by_range() {
    let mut fx = BuildFixture::new();
    fx.config.source = NAME.into();
    fx.config.image = None;
    fx.docker_login();
    let author = Author::at(fx.home.path());
    author
        .ops(&["plugin", "new", NAME, "--kind", "sync"])
        .expect_success();
    release(&fx, &author, "0.1.0", "1.0.0");
    release(&fx, &author, "1.0.0", "1.1.0");

    let toml = format!(
        "{}\n[build.{NAME}]\nfrom = \"/tmp\"\n\n[plugins.{NAME}]\noci = \"oci://{}/vendor/{NAME}\"\n\
         version = \"^1.0\"\ngrant = [\"remote-exec\"]\n",
        fx.config.to_toml(),
        fx.registry.host()
    );
    fx.home.write("ops.toml", &toml);

    let out = fx.ops().args(["plugin", "update", NAME]).run();
    out.expect_success();
    assert!(lock(&fx).contains("version = \"1.1.0\""), "{}", lock(&fx));
    assert!(
        lock(&fx).contains("requirement = \"^1.0\""),
        "{}",
        lock(&fx)
    );

    let out = fx
        .ops()
        .args(["plugin", "update", NAME, "--precise", "1.0.0"])
        .run();
    out.expect_success();
    assert!(lock(&fx).contains("version = \"1.0.0\""), "{}", lock(&fx));

    let out = fx.ops().args(["plugin", "outdated"]).run();
    out.expect_success();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(NAME))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_owned();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[..4], [NAME, "^1.0", "1.0.0", "1.1.0"], "{row}");

    // A locked run takes the locked release and lists no tags.
    let listed = fx.registry.log().matches("/tags/list").count();
    fx.ops()
        .args(["build", "--dry-run", "--locked"])
        .run()
        .expect_success();
    assert_eq!(fx.registry.log().matches("/tags/list").count(), listed);
}
