//! Every example of the spec's `ops build` section, against a real node,
//! registry and git origin; results are read back from the registry.

use crate::support::build::{BuildFixture, SERVICES};
use crate::support::git;

#[test]
fn build_everything_pushes_every_service() {
    let fx = BuildFixture::new();
    fx.build_ok(&[]);

    let main = fx.origin.rev_parse(git::MAIN);
    assert_eq!(fx.registry.catalog(), {
        let mut repos: Vec<String> = SERVICES.iter().map(|s| fx.repo(s)).collect();
        repos.sort();
        repos
    });
    for service in SERVICES {
        assert_eq!(fx.registry.tags(&fx.repo(service)), ["latest"]);
        let info = fx.service_info(service, "latest");
        assert_eq!(info.service, service);
        assert_eq!(info.version, fx.origin.file_at(git::MAIN, "VERSION"));
        assert_eq!(info.commit, main);
        assert_eq!(info.vendored, "greeting 0.1", "submodule content missing");
        assert_eq!(info.build, 1);
    }
}
