//! The benchmark's stand-in for network distance (bench/delay_proxy.py):
//! each direction is delayed, so one request and its answer cost the round
//! trip, and bytes arrive whole and in order. Only this smoke test runs in
//! CI; the benchmark itself is scripts/bench.sh.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::port::ReservedPort;

#[test]
fn the_delay_proxy_costs_one_round_trip_per_exchange() {
    let echo = TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_port = echo.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in echo.incoming().flatten() {
            let mut reader = stream.try_clone().unwrap();
            let mut writer = stream;
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut writer);
            });
        }
    });
    // Held until the proxy says it listens, so nobody else takes the port.
    let reserved = ReservedPort::new();
    let port = reserved.port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/delay_proxy.py");
    let mut proxy = Command::new("python3")
        .args([script, &port.to_string(), &echo_port.to_string(), "25"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs the proxy");
    let mut ready = String::new();
    BufReader::new(proxy.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    drop(reserved);

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut times = Vec::new();
    for _ in 0..3 {
        let since = Instant::now();
        stream.write_all(&payload).unwrap();
        let mut back = vec![0u8; payload.len()];
        stream.read_exact(&mut back).unwrap();
        times.push(since.elapsed());
        assert!(back == payload, "the proxy changed or reordered bytes");
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
    // The first exchange also pays for the connection (one more round
    // trip); the later ones cost one round trip each, give or take the
    // machine's load. The connection's round trip starts when the proxy
    // accepts, which can be a moment before the clock here starts: a few
    // milliseconds of slack below.
    for t in &times[1..] {
        assert!(
            *t >= Duration::from_millis(45) && *t < Duration::from_millis(400),
            "{times:?}"
        );
    }
    assert!(times[0] >= Duration::from_millis(90), "{times:?}");
}
