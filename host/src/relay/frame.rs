//! The relay's wire format: `[kind: u8][length: u32 big-endian][payload]`.

use std::io::{self, Read, Write};

/// Client → server: the remote command's words, NUL-separated. First frame.
pub const COMMAND: u8 = 1;
/// Client → server: bytes for the remote command's stdin.
pub const STDIN: u8 = 2;
/// Client → server: the remote command's stdin is at end of file.
pub const STDIN_EOF: u8 = 3;
/// Server → client: bytes the remote command wrote to stdout.
pub const STDOUT: u8 = 4;
/// Server → client: bytes the remote command wrote to stderr.
pub const STDERR: u8 = 5;
/// Server → client: the remote command ended; payload is the exit code
/// (i32, big-endian, 128+N for signal N). Last frame.
pub const EXIT: u8 = 6;
/// Server → client: the command could not run; payload is the message.
/// Last frame.
pub const ERROR: u8 = 7;

/// Frames larger than this are refused: nothing legitimate comes close,
/// and a corrupt length must not make either side allocate gigabytes.
pub const MAX_PAYLOAD: usize = 1 << 20;

pub fn write_frame(out: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "relay frame too large"))?;
    let mut header = [0u8; 5];
    header[0] = kind;
    header[1..].copy_from_slice(&len.to_be_bytes());
    out.write_all(&header)?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame; `None` at a clean end of stream.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 5];
    match input.read_exact(&mut header[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    input.read_exact(&mut header[1..])?;
    let len = payload_len(&header)?;
    let mut payload = vec![0u8; len];
    input.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// The payload length a frame header announces, refused when too large.
pub fn payload_len(header: &[u8; 5]) -> io::Result<usize> {
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("relay frame of {len} bytes is too large"),
        ));
    }
    Ok(len)
}

/// Encodes a frame into a buffer (for the async side, which writes whole
/// buffers).
pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(5 + payload.len());
    // Writing into a Vec cannot fail, and callers keep payloads under
    // MAX_PAYLOAD, far below u32::MAX.
    let _ = write_frame(&mut buf, kind, payload);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_clean_end() {
        let mut buf = Vec::new();
        write_frame(&mut buf, STDIN, b"hello").unwrap();
        buf.extend(encode(STDIN_EOF, b""));
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((STDIN, b"hello".to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), Some((STDIN_EOF, Vec::new())));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn refuses_huge_lengths_and_truncation() {
        let mut r = &[STDOUT, 0xff, 0xff, 0xff, 0xff][..];
        assert!(read_frame(&mut r).is_err());
        let mut r = &[STDOUT, 0, 0, 0, 9, b'x'][..];
        assert!(read_frame(&mut r).is_err());
    }
}
