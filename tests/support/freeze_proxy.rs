//! A TCP proxy on 127.0.0.1 whose connections can be frozen: after
//! [`FreezeProxy::freeze`], every connection made before stops forwarding
//! in both directions while its sockets stay open (packets are not
//! dropped by a kernel here, which has no netem; they are simply never
//! passed on, which a peer cannot tell apart). Connections made after the
//! freeze pass, as a new route would.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct FreezeProxy {
    port: u16,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// Connections accepted so far.
    accepted: AtomicU64,
    /// Connections numbered below this are frozen.
    frozen_below: AtomicU64,
    /// The proxy is gone: every thread lets go of its sockets.
    stopped: AtomicBool,
}

impl State {
    fn frozen(&self, number: u64) -> bool {
        number < self.frozen_below.load(Ordering::SeqCst)
    }
}

impl FreezeProxy {
    pub fn start(upstream_port: u16) -> FreezeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind freeze proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if shared.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let number = shared.accepted.fetch_add(1, Ordering::SeqCst);
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let (s1, s2) = (shared.clone(), shared.clone());
                std::thread::spawn(move || forward(client, upstream, number, &s1));
                std::thread::spawn(move || forward(u2, c2, number, &s2));
            }
        });
        FreezeProxy { port, state }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops forwarding on every connection made so far.
    pub fn freeze(&self) {
        let accepted = self.state.accepted.load(Ordering::SeqCst);
        self.state.frozen_below.store(accepted, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either ends or the connection is frozen;
/// a frozen one keeps both sockets open, unread, until the proxy goes.
fn forward(mut from: TcpStream, mut to: TcpStream, number: u64, state: &State) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if state.stopped.load(Ordering::SeqCst) {
            break;
        }
        if state.frozen(number) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Read before the freeze, held after it: nothing passes.
                while state.frozen(number) && !state.stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for FreezeProxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
