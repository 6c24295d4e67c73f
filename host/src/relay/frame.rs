//! The relay's wire format, one codec for both sides: tokio-util's
//! length-delimited frames (u32 big-endian length), each starting with a
//! kind byte.

use std::io;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

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

/// Payloads larger than this are refused: nothing legitimate comes close,
/// and a corrupt length must not make either side allocate gigabytes.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// One frame: its kind and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub payload: Bytes,
}

impl Frame {
    pub fn new(kind: u8, payload: impl Into<Bytes>) -> Frame {
        Frame {
            kind,
            payload: payload.into(),
        }
    }
}

pub struct RelayCodec {
    frames: LengthDelimitedCodec,
}

impl Default for RelayCodec {
    fn default() -> Self {
        RelayCodec {
            frames: LengthDelimitedCodec::builder()
                .max_frame_length(MAX_PAYLOAD + 1)
                .new_codec(),
        }
    }
}

impl Decoder for RelayCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Frame>> {
        let Some(mut frame) = self.frames.decode(src)? else {
            return Ok(None);
        };
        if frame.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "relay frame without a kind",
            ));
        }
        let kind = frame.split_to(1)[0];
        Ok(Some(Frame {
            kind,
            payload: frame.freeze(),
        }))
    }
}

impl Encoder<Frame> for RelayCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> io::Result<()> {
        let mut body = BytesMut::with_capacity(1 + frame.payload.len());
        body.put_u8(frame.kind);
        body.extend_from_slice(&frame.payload);
        self.frames.encode(body.freeze(), dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(frames: &[Frame]) -> BytesMut {
        let mut buf = BytesMut::new();
        for frame in frames {
            RelayCodec::default()
                .encode(frame.clone(), &mut buf)
                .unwrap();
        }
        buf
    }

    #[test]
    fn round_trip_and_partial_input() {
        let frames = [Frame::new(STDIN, "hello"), Frame::new(STDIN_EOF, "")];
        let mut buf = encoded(&frames);
        let mut codec = RelayCodec::default();
        let mut tail = buf.split_off(3);
        assert_eq!(codec.decode(&mut buf).unwrap(), None, "a partial header");
        buf.unsplit(tail.split());
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(frames[0].clone()));
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(frames[1].clone()));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn refuses_huge_lengths_and_kindless_frames() {
        let mut huge = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, STDOUT][..]);
        assert!(RelayCodec::default().decode(&mut huge).is_err());
        let mut empty = BytesMut::from(&[0, 0, 0, 0][..]);
        assert!(RelayCodec::default().decode(&mut empty).is_err());
    }
}
