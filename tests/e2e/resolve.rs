//! Every way of naming the build node, and host key checks, against real
//! sshd servers and a real HTTP server for the API.

use std::time::{Duration, Instant};

use crate::support::agent::SshAgent;
use crate::support::home::{generate_key, TestHome};
use crate::support::http::HttpServer;
use crate::support::sshd::Sshd;

/// Runs `ops exec -- sh -c 'echo ok'` and checks it reached the node.
fn assert_reaches(home: &TestHome, sshd: &Sshd) {
    let before = sshd.logins();
    let out = home.ops().args(["exec", "--", "echo", "reached"]).run();
    out.expect_success();
    assert_eq!(out.stdout, "reached\n");
    assert_eq!(sshd.logins(), before + 1);
}

/// Runs a command that would create a marker file, expecting refusal.
fn assert_refused(home: &TestHome, sshd: &Sshd, code: i32) -> String {
    let marker = sshd.dir().join("ran");
    let out = home.ops().args(["exec", "--", "touch"]).arg(&marker).run();
    out.expect_code(code);
    assert!(!marker.exists(), "the command ran");
    assert_eq!(sshd.logins(), 0, "{}", sshd.log());
    out.stderr
}

#[test]
fn target_as_destination_in_every_form() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    for target in [
        sshd.destination(),
        format!("ssh://{}@127.0.0.1:{}", sshd.user(), sshd.port()),
    ] {
        home.write("ops.toml", &format!("target = \"{target}\"\n"));
        assert_reaches(&home, &sshd);
    }
    // `host` alone, with user and port from ssh_config's `Host *`.
    home.write_ssh_config(&format!(
        "Host *\n  Port {}\n  User {}\n",
        sshd.port(),
        sshd.user()
    ));
    home.write("ops.toml", "target = \"127.0.0.1\"\n");
    assert_reaches(&home, &sshd);
}

#[test]
fn target_as_ssh_config_alias() {
    let home = TestHome::with_key_elsewhere();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    home.trust(&sshd);
    home.write_ssh_config(&format!(
        "Host buildbox\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
        sshd.port(),
        sshd.user(),
        home.user_key_path().display()
    ));
    home.write("ops.toml", "target = \"buildbox\"\n");
    assert_reaches(&home, &sshd);
}

#[test]
fn inventory_by_build_node_id_and_target_name() {
    let home = TestHome::new();
    let sshd = Sshd::trusted_by(&home);
    let inventory = format!(
        "[nodes.4]\nname = \"build-1\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\n",
        sshd.port(),
        sshd.user()
    );
    home.write(
        "ops.toml",
        &format!("target = \"elsewhere.invalid\"\n[build]\nnode = 4\n{inventory}"),
    );
    assert_reaches(&home, &sshd);
    home.write("ops.toml", &format!("target = \"build-1\"\n{inventory}"));
    assert_reaches(&home, &sshd);
    home.write("ops.toml", &format!("target = 4\n{inventory}"));
    assert_reaches(&home, &sshd);
}

#[test]
fn pinned_host_key_wins_over_known_hosts() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    // Nothing in known_hosts: the pin alone is trusted.
    let node = |key: &str| {
        format!(
            "[build]\nnode = 4\n[nodes.4]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nhost_key = \"{key}\"\n",
            sshd.port(),
            sshd.user()
        )
    };
    home.write("ops.toml", &node(sshd.host_public_key()));
    assert_reaches(&home, &sshd);
    assert!(
        home.known_hosts().is_empty(),
        "a pin must not touch known_hosts"
    );

    // A wrong pin is refused even though known_hosts has the right key.
    let other = generate_key(&home.path().join("other_host_key"), "other");
    home.trust(&sshd);
    home.write("ops.toml", &node(&other));
    let logins = sshd.logins();
    let marker = sshd.dir().join("ran-pinned");
    let out = home.ops().args(["exec", "--", "touch"]).arg(&marker).run();
    out.expect_code(3).expect_stderr_contains("MISMATCH");
    out.expect_stderr_contains("host_key");
    assert!(!marker.exists());
    assert_eq!(sshd.logins(), logins);
}

fn node_json(sshd: &Sshd, with_key: bool) -> String {
    let key = if with_key {
        format!(", \"host_key\": \"{}\"", sshd.host_public_key())
    } else {
        String::new()
    };
    format!(
        "{{\"id\": 4, \"name\": \"build-1\", \"host\": \"127.0.0.1\", \"port\": {}, \"user\": \"{}\"{key}}}",
        sshd.port(),
        sshd.user()
    )
}

#[test]
fn api_lookup_of_build_node_and_project() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    let api = HttpServer::builder()
        .route("/v1/nodes/4", 200, &node_json(&sshd, true))
        .route(
            "/v1/projects/demo",
            200,
            r#"{"name": "demo", "build_node": 4}"#,
        )
        .start();

    // build.node → not in the inventory → GET /v1/nodes/4, host key pinned
    // by the API answer.
    home.write(
        "ops.toml",
        &format!(
            "[build]\nnode = 4\n[api]\nurl = \"{}\"\ntoken = \"$OPS_TEST_API_TOKEN\"\n",
            api.url()
        ),
    );
    // The token goes to an [api] url only the file names: trusted here.
    let out = home
        .ops()
        .env("OPS_TRUST", "1")
        .env("OPS_TEST_API_TOKEN", "tok-123456")
        .args(["exec", "--", "echo", "via-api"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "via-api\n");
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/nodes/4");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer tok-123456")
    );

    // project → GET /v1/projects/demo → build_node 4 → GET /v1/nodes/4,
    // with the URL and token from the environment.
    home.write("ops.toml", "project = \"demo\"\n");
    let out = home
        .ops()
        .env("OPS_API_URL", api.url())
        .env("OPS_API_TOKEN", "env-token-789")
        .args(["exec", "--", "echo", "via-project"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "via-project\n");
    let paths: Vec<String> = api.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[1..], ["/v1/projects/demo", "/v1/nodes/4"]);
    assert_eq!(
        api.requests()[2].authorization.as_deref(),
        Some("Bearer env-token-789")
    );
    assert_eq!(sshd.logins(), 2);
}

#[test]
fn api_errors_quote_url_and_status() {
    let home = TestHome::new();
    let api = HttpServer::builder()
        .route("/v1/projects/demo", 500, r#"{"error":"boom"}"#)
        .start();
    home.write(
        "ops.toml",
        &format!("project = \"demo\"\n[api]\nurl = \"{}\"\n", api.url()),
    );
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3)
        .expect_stderr_contains(&format!("{}/v1/projects/demo", api.url()))
        .expect_stderr_contains("500");

    // Unknown node id: the API's 404, quoted.
    home.write(
        "ops.toml",
        &format!("[build]\nnode = 9\n[api]\nurl = \"{}\"\n", api.url()),
    );
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3)
        .expect_stderr_contains(&format!("{}/v1/nodes/9", api.url()))
        .expect_stderr_contains("404");

    // Nothing listening.
    drop(api);
    home.write(
        "ops.toml",
        "project = \"demo\"\n[api]\nurl = \"http://127.0.0.1:9\"\n",
    );
    home.ops()
        .args(["exec", "--", "true"])
        .run()
        .expect_code(3)
        .expect_stderr_contains("http://127.0.0.1:9/v1/projects/demo");
}

#[test]
fn nothing_configured_lists_the_three_ways() {
    let home = TestHome::new();
    home.write("ops.toml", "[build]\npath = \"/tmp/x\"\n");
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(2)
        .expect_stderr_contains("build.node")
        .expect_stderr_contains("target")
        .expect_stderr_contains("project");
    home.write("ops.toml", "[build]\nnode = 7\n");
    home.ops()
        .args(["exec", "--", "true"])
        .run()
        .expect_code(2)
        .expect_stderr_contains("ops.toml:2:8");
}

#[test]
fn proxy_jump_through_another_sshd() {
    let home = TestHome::new();
    let jump = Sshd::trusted_by(&home);
    let node = Sshd::trusted_by(&home);
    home.write_ssh_config(&format!(
        "Host node\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  ProxyJump {}\n",
        node.port(),
        node.user(),
        jump.destination()
    ));
    home.write("ops.toml", "target = \"node\"\n");
    assert_reaches(&home, &node);
    assert_eq!(jump.logins(), 1, "{}", jump.log());
}

#[test]
fn two_proxy_jump_hops() {
    let home = TestHome::new();
    let first = Sshd::trusted_by(&home);
    let second = Sshd::trusted_by(&home);
    let node = Sshd::trusted_by(&home);
    home.write_ssh_config(&format!(
        "Host node\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  ProxyJump {},{}\n",
        node.port(),
        node.user(),
        first.destination(),
        second.destination()
    ));
    home.write("ops.toml", "target = \"node\"\n");
    assert_reaches(&home, &node);
    assert_eq!(first.logins(), 1);
    assert_eq!(second.logins(), 1);
}

#[test]
fn agent_authentication() {
    let home = TestHome::with_key_elsewhere();
    let sshd = Sshd::trusted_by(&home);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    // Without the agent, ops has no key: authentication fails, exit 3.
    let out = home.ops().args(["exec", "--", "true"]).run();
    out.expect_code(3).expect_stderr_contains("authentication");

    let agent = SshAgent::start();
    agent.add(home.user_key_path());
    let out = home
        .ops()
        .env("SSH_AUTH_SOCK", agent.socket())
        .args(["exec", "--", "echo", "agent"])
        .run();
    out.expect_success();
    assert_eq!(out.stdout, "agent\n");
}

#[test]
fn unknown_host_is_refused_until_accepted() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    let stderr = assert_refused(&home, &sshd, 3);
    assert!(stderr.contains("not known"), "{stderr}");
    assert!(stderr.contains("SHA256:"), "{stderr}");
    assert!(stderr.contains("--accept-new-host-key"), "{stderr}");
    assert!(home.known_hosts().is_empty());

    let out = home
        .ops()
        .args(["exec", "--accept-new-host-key", "--", "echo", "hi"])
        .run();
    out.expect_success();
    assert!(
        out.stderr.contains("permanently added the host key"),
        "a learned key must be reported: {}",
        out.stderr
    );
    assert!(
        home.known_hosts()
            .contains(&format!("[127.0.0.1]:{}", sshd.port())),
        "{}",
        home.known_hosts()
    );
    // Known now, without the flag.
    assert_reaches(&home, &sshd);
}

#[test]
fn changed_host_key_is_refused_even_with_accept_new() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    let other = generate_key(&home.path().join("old_host_key"), "old");
    home.append_known_hosts(&format!("[127.0.0.1]:{} {other}", sshd.port()));
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    let stderr = assert_refused(&home, &sshd, 3);
    assert!(stderr.contains("MISMATCH"), "{stderr}");
    assert!(stderr.contains("SHA256:"), "{stderr}");
    assert!(stderr.contains("ssh-keygen -R"), "{stderr}");

    let marker = sshd.dir().join("ran2");
    home.ops()
        .args(["exec", "--accept-new-host-key", "--", "touch"])
        .arg(&marker)
        .run()
        .expect_code(3);
    assert!(!marker.exists());
}

#[test]
fn hashed_known_hosts_entries_are_honoured() {
    let home = TestHome::new();
    let sshd = Sshd::builder().authorize(home.user_public_key()).start();
    home.trust_hashed(&sshd);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    assert_reaches(&home, &sshd);
}

/// An encrypted default key: ops asks for its passphrase on the terminal
/// (a real pty from util-linux `script`), like ssh; without a terminal it
/// says what to do instead of hanging.
#[test]
fn encrypted_key_prompts_on_a_terminal_and_explains_without_one() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let home = TestHome::with_key_elsewhere();
    let key = home.ssh_dir().join("id_ed25519");
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "open sesame",
            "-C",
            "enc",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let sshd = Sshd::builder().authorize(public.trim()).start();
    home.trust(&sshd);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );

    // No terminal: a clear refusal naming the key, exit 3, nothing run.
    let out = home.ops().args(["exec", "--", "echo", "ran"]).run();
    out.expect_code(3);
    assert!(out.stderr.contains("id_ed25519"), "{}", out.stderr);
    assert!(!out.stdout.contains("ran"));

    let run_on_tty = |passphrase: &str| {
        let line = format!(
            "{} exec -- echo passphrase-accepted",
            crate::support::ops::ops_binary().display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "dumb")
            .current_dir(home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux script runs");
        // Type the passphrase only once the prompt is on the screen, as a
        // person would: type-ahead would be echoed by the terminal before
        // ops turns echo off.
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut screen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !String::from_utf8_lossy(&screen).contains("': ") {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => screen.extend(chunk),
                Err(_) => panic!("no prompt: {}", String::from_utf8_lossy(&screen)),
            }
        }
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{passphrase}\n").as_bytes())
            .unwrap();
        let status = child.wait().unwrap();
        drop(stdin);
        reader.join().unwrap();
        screen.extend(rx.try_iter().flatten());
        (status.code(), String::from_utf8_lossy(&screen).into_owned())
    };
    let (code, screen) = run_on_tty("open sesame");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("Enter passphrase for key"), "{screen}");
    assert!(screen.contains("passphrase-accepted"), "{screen}");
    assert!(
        !screen.contains("open sesame"),
        "the passphrase was echoed: {screen}"
    );

    let (code, screen) = run_on_tty("wrong");
    assert_eq!(code, Some(3), "{screen}");
    assert!(!screen.contains("passphrase-accepted"), "{screen}");
}

/// An empty SSH_AUTH_SOCK means "no agent", as it does to ssh: a failed
/// login says what was tried, without a note about a broken agent.
#[test]
fn an_empty_agent_socket_is_no_agent() {
    let home = TestHome::new();
    let sshd = Sshd::builder().start();
    home.trust(&sshd);
    home.write(
        "ops.toml",
        &format!("target = \"{}\"\n", sshd.destination()),
    );
    let out = home
        .ops()
        .env("SSH_AUTH_SOCK", "")
        .args(["exec", "--", "true"])
        .run();
    out.expect_code(3);
    assert!(out.stderr.contains("id_ed25519"), "{}", out.stderr);
    assert!(!out.stderr.contains("note: ssh-agent"), "{}", out.stderr);
    assert!(!out.stderr.contains("Invalid argument"), "{}", out.stderr);
}
