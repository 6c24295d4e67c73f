use std::path::Path;

use super::findings::{collect, Context, Finding};
use crate::config::Config;
use crate::ssh::SshConfigFile;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/// The findings for `text` as `<project>/ops.toml`, with an empty
/// known_hosts and ssh_config in `<home>`.
fn findings(text: &str, env_api_url: Option<&str>) -> Vec<Finding> {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let project = tmp.path().join("project");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    let env = |name: &str| (name == "TOKEN").then(|| "t0k3n".to_owned());
    let config = Config::parse(&project.join("ops.toml"), text, &env).unwrap();
    let ssh_config = SshConfigFile::load(&home).unwrap();
    let cx = Context {
        home: Some(&home),
        ssh_config: &ssh_config,
        env_api_url: env_api_url.map(str::to_owned),
    };
    collect(&config, &cx)
}

fn lines(found: &[Finding]) -> Vec<usize> {
    found.iter().map(|f| f.location.line).collect()
}

#[test]
fn a_key_from_home_sent_to_a_node_only_the_file_pins() {
    let text = format!(
        "target = \"x\"\n[build]\npath = \"/b\"\ncommand = \"make\"\n[build.git]\n\
         repo = \"git@example.com:o/r\"\nssh_key = \"~/.ssh/id_ed25519\"\n\
         [nodes.x]\nhost = \"203.0.113.9\"\nhost_key = \"{KEY}\"\n"
    );
    let found = findings(&text, None);
    assert_eq!(lines(&found), [7, 10], "{found:#?}");
    assert!(found[0].what.contains("build.git.ssh_key"), "{found:#?}");
    assert!(
        found[1].what.contains("build.git.ssh_key (line 7)"),
        "{found:#?}"
    );
    // The build command is not part of what is trusted.
    let edited = findings(&text.replace("make", "make all"), None);
    assert_eq!(lines(&edited), [7, 10]);
    assert_eq!(found[1].material, edited[1].material);
}

#[test]
fn an_ordinary_file_has_no_findings() {
    let text = "target = \"build@10.0.0.4\"\n[build]\npath = \"/b\"\ncommand = \"make\"\n\
                [build.git]\nrepo = \"git@example.com:o/r\"\nssh_key = \"deploy/key\"\n\
                [build.image]\nregistry = \"ghcr.io\"\ntoken = \"$TOKEN\"\nusername = \"u\"\n\
                prefix = \"ghcr.io/o/p\"\nservices = [\"api\"]\n\
                [plugins.acme]\ngrant = [\"remote-exec\", \"remote-files\"]\n";
    assert_eq!(findings(text, None), []);
    // A pin with no secret going to the node sends nothing of the user's.
    let pinned = format!("[nodes.x]\nhost = \"203.0.113.9\"\nhost_key = \"{KEY}\"\n");
    assert_eq!(findings(&pinned, None), []);
}

#[test]
fn secrets_to_an_unconfirmed_pin_are_listed_with_their_lines() {
    let text = format!(
        "[build.image]\nregistry = \"r.example\"\ntoken = \"$TOKEN\"\nusername = \"u\"\n\
         [nodes.x]\nhost = \"203.0.113.9\"\nhost_key = \"{KEY}\"\n"
    );
    let found = findings(&text, None);
    assert_eq!(lines(&found), [7], "{found:#?}");
    assert!(
        found[0].what.contains("build.image.token (line 3)"),
        "{found:#?}"
    );
}

#[test]
fn the_api_token_to_the_files_own_origin() {
    let text = "project = \"p\"\n[api]\nurl = \"https://api.example.com/v1\"\ntoken = \"$TOKEN\"\n";
    let found = findings(text, None);
    assert_eq!(lines(&found), [3], "{found:#?}");
    assert!(
        found[0].what.contains("https://api.example.com"),
        "{found:#?}"
    );
    assert_eq!(findings(text, Some("https://API.example.com")), []);
    assert_eq!(findings("[api]\nurl = \"https://a.example\"\n", None), []);
}

#[test]
fn local_grants_of_third_party_plugins() {
    let text = "[plugins.a]\npath = \"a.wasm\"\ngrant = [\"remote-exec\", \"local-exec:rsync\", \
                \"local-read\", \"env\", \"http:example.com\"]\n";
    let found = findings(text, None);
    let grants: Vec<&str> = found
        .iter()
        .map(|f| f.material.split(' ').nth(2).unwrap_or(""))
        .collect();
    assert_eq!(
        grants,
        ["local-exec:rsync", "local-read", "env", "http:example.com"]
    );
}

#[test]
fn a_symlink_in_the_project_to_a_key_outside_is_seen_through() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, project) = (tmp.path().join("home"), tmp.path().join("project"));
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(home.join(".ssh/id"), "key").unwrap();
    std::os::unix::fs::symlink(home.join(".ssh/id"), project.join("key")).unwrap();
    let text = "[build.git]\nrepo = \"git@example.com:o/r\"\nssh_key = \"key\"\n";
    let config = Config::parse(&project.join("ops.toml"), text, &|_| None).unwrap();
    let ssh_config = SshConfigFile::default();
    let cx = Context {
        home: Some(Path::new(&home)),
        ssh_config: &ssh_config,
        env_api_url: None,
    };
    assert_eq!(lines(&collect(&config, &cx)), [3]);
}

#[test]
fn each_hook_is_a_finding_of_its_own_apart_from_the_rest() {
    let text = "[build]\ncommand = \"make\"\n[hooks]\npre_build = \"./check.sh\"\n\
                post_push = \"curl -d \\\"$OPS_IMAGES\\\" https://hooks.example\"\n";
    // Only a command that runs them asks about them.
    assert_eq!(findings(text, None), []);
    let config = Config::parse(Path::new("/p/ops.toml"), text, &|_| None).unwrap();
    let found = super::findings::hooks(&config);
    assert_eq!(lines(&found), [4, 5], "{found:#?}");
    assert!(
        found[0]
            .what
            .contains("hooks.pre_build runs `./check.sh` on this machine"),
        "{found:#?}"
    );
    // A changed command is a new thing to trust; a changed build command
    // is not.
    let edited = text.replace("check.sh", "check.sh --all");
    let edited = Config::parse(Path::new("/p/ops.toml"), &edited, &|_| None).unwrap();
    assert_ne!(
        super::findings::hooks(&edited)[0].material,
        found[0].material
    );
    let rebuilt = text.replace("make", "make all");
    let rebuilt = Config::parse(Path::new("/p/ops.toml"), &rebuilt, &|_| None).unwrap();
    assert_eq!(super::findings::hooks(&rebuilt), found);
}
