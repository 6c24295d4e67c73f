//! `wasi-probe`: a sync strategy that imports WASI 0.2 the way a plugin
//! built with `cargo build --target wasm32-wasip2` does, and whose `sync`
//! reports what each interface gave it. It writes one line to stdout and
//! one to stderr, which the host must show in the plugin's log.
//!
//! Declares nothing: WASI must not hand out anything a capability guards.

use ops_plugin_sdk::{
    bindings::exports::ops::plugin::sync::{SyncOutcome, SyncRequest},
    Config, ConfigError, Description, Plugin, SyncStrategy,
};

mod wasi {
    wit_bindgen::generate!({
        path: "wit",
        world: "wasi-imports",
        generate_all,
    });

    // Makes cargo rebuild the bindings when the world changes.
    const _: &str = include_str!("../wit/probe.wit");
}

use wasi::wasi::cli::{environment, stderr, stdin, stdout};
use wasi::wasi::clocks::{monotonic_clock, wall_clock};
use wasi::wasi::filesystem::preopens;
use wasi::wasi::random::random;
use wasi::wasi::sockets::{instance_network, ip_name_lookup, network, tcp_create_socket};

pub struct WasiProbe;

impl Plugin for WasiProbe {
    fn describe() -> Description {
        Description {
            name: "wasi-probe",
            version: env!("CARGO_PKG_VERSION"),
            description: "Reports what WASI gives a plugin (runtime tests only)",
            capabilities: Vec::new(),
        }
    }

    fn validate(_config: Config) -> Result<(), Vec<ConfigError>> {
        Ok(())
    }
}

impl SyncStrategy for WasiProbe {
    fn sync(_request: SyncRequest) -> Result<SyncOutcome, ops_plugin_sdk::Error> {
        let out = stdout::get_stdout();
        out.blocking_write_and_flush(b"probe: hello on stdout\nprobe: second line")
            .map_err(|e| format!("stdout: {e:?}"))?;
        drop(out);
        stderr::get_stderr()
            .blocking_write_and_flush(b"probe: hello on stderr\n")
            .map_err(|e| format!("stderr: {e:?}"))?;

        let input = match stdin::get_stdin().blocking_read(16) {
            Ok(bytes) => format!("{} bytes", bytes.len()),
            Err(_) => "closed".to_owned(),
        };
        let net = instance_network::instance_network();
        let tcp = match tcp_create_socket::create_tcp_socket(network::IpAddressFamily::Ipv4) {
            Ok(_) => "open".to_owned(),
            Err(code) => format!("{code:?}"),
        };
        let lookup = match ip_name_lookup::resolve_addresses(&net, "localhost") {
            Ok(_) => "allowed".to_owned(),
            Err(code) => format!("{code:?}"),
        };
        let before = monotonic_clock::now();
        let wall = wall_clock::now();
        let summary = format!(
            "env={} args={} cwd={} stdin={input} preopens={} tcp={tcp} lookup={lookup} \
             random={} wall_after_2020={} monotonic={}",
            environment::get_environment().len(),
            environment::get_arguments().len(),
            environment::initial_cwd().is_some(),
            preopens::get_directories().len(),
            random::get_random_bytes(16).len(),
            wall.seconds > 1_577_836_800,
            monotonic_clock::now() >= before,
        );
        Ok(SyncOutcome {
            commit: None,
            summary,
        })
    }
}

ops_plugin_sdk::export_sync_strategy!(WasiProbe);
