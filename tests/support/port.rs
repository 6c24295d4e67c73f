//! A port on 127.0.0.1 for a server that cannot be handed a listener.
//!
//! Asking the kernel for a free port and closing it before the server binds
//! it leaves a window in which another test (or anything on the machine)
//! takes the port. [`ReservedPort`] keeps the port bound until the server
//! has its own socket on it: the kernel hands out a port nobody holds, and
//! only then is `SO_REUSEADDR` set, which lets a server that sets it too
//! (sshd, Go's and Python's listeners all do) bind the same port beside
//! the reservation. The reservation never listens, so while it is the only
//! socket on the port, connecting to it is refused.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub struct ReservedPort {
    _socket: OwnedFd,
    port: u16,
}

impl ReservedPort {
    pub fn new() -> ReservedPort {
        // SAFETY: plain socket calls on a descriptor this function owns;
        // every result is checked before it is used.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let bound = libc::bind(
                socket.as_raw_fd(),
                &addr as *const libc::sockaddr_in as *const libc::sockaddr,
                len,
            );
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let mut len = len;
            let named = libc::getsockname(
                socket.as_raw_fd(),
                &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr,
                &mut len,
            );
            assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
            let one: libc::c_int = 1;
            let set = libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(set, 0, "SO_REUSEADDR: {}", std::io::Error::last_os_error());
            ReservedPort {
                _socket: socket,
                port: u16::from_be(addr.sin_port),
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}
