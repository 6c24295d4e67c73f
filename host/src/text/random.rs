//! Random names for what a run makes on the node (its reaper's directory,
//! the build lock's marker).

/// `bytes` random bytes from the system's random source, as hex. Without
/// one (no `/dev/urandom`), the time and pid: unique among this user's
/// runs, though not unguessable.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf));
    if read.is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = (nanos ^ u128::from(std::process::id())).to_be_bytes();
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = seed[i % seed.len()];
        }
    }
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_hex_of_the_length_asked_and_differ() {
        let (a, b) = (super::random_hex(16), super::random_hex(16));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
