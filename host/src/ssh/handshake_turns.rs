//! Round trips of the connection's setup (key exchange, authentication),
//! which happen inside russh where no single wait can be seen: the stream
//! under it counts a turn each time ops has sent something and then has to
//! wait for the server's answer. Counting stops once the connection is
//! authenticated; later waits are counted per request
//! ([`critical_path`](crate::remote::critical_path)).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Default)]
pub(super) struct Turns {
    done: AtomicBool,
    count: AtomicU64,
}

impl Turns {
    /// Stops counting and returns the turns seen.
    pub(super) fn finish(&self) -> u64 {
        self.done.store(true, Ordering::SeqCst);
        self.count.load(Ordering::SeqCst)
    }
}

/// `S`, counting turns into `turns` while they are not finished.
pub(super) struct TurnCounting<S> {
    inner: S,
    turns: Arc<Turns>,
    sent: bool,
    waited: bool,
}

impl<S> TurnCounting<S> {
    pub(super) fn new(inner: S, turns: Arc<Turns>) -> Self {
        TurnCounting {
            inner,
            turns,
            sent: false,
            waited: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TurnCounting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => {
                this.waited = true;
                Poll::Pending
            }
            Poll::Ready(result) => {
                let got_data = buf.filled().len() > before;
                if got_data && this.waited && this.sent && !this.turns.done.load(Ordering::SeqCst) {
                    this.turns.count.fetch_add(1, Ordering::SeqCst);
                    this.sent = false;
                }
                if got_data {
                    this.waited = false;
                }
                Poll::Ready(result)
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TurnCounting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.sent = true;
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_request_answered_later_is_one_turn() {
        let (client, mut server) = tokio::io::duplex(64);
        let turns = Arc::new(Turns::default());
        let mut client = TurnCounting::new(client, turns.clone());
        let mut buf = [0u8; 8];
        for _ in 0..3 {
            client.write_all(b"ping").await.unwrap();
            server.read_exact(&mut buf[..4]).await.unwrap();
            let answer = async {
                tokio::task::yield_now().await;
                server.write_all(b"pong").await.unwrap();
            };
            let (read, ()) = tokio::join!(client.read_exact(&mut buf[..4]), answer);
            read.unwrap();
        }
        // Data already there when read, unasked for: no turn.
        server.write_all(b"more").await.unwrap();
        client.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(turns.finish(), 3);
    }
}
