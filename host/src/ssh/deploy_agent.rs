//! An ssh-agent that ops serves itself on the sync's channels, holding the
//! deploy key (`[build.git] ssh_key`) only.
//!
//! git on the node reaches it through the `SSH_AUTH_SOCK` sshd makes for
//! the channel, so the key never touches the node's disk: the node sees
//! the public key and the signatures ssh asks for, while a sync channel is
//! open. It answers the list of keys and signature requests for that key;
//! everything else (adding, removing, locking keys, extensions) is refused.
//! The user's own agent is not reachable through it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use russh::client::{ChannelOpenHandle, Msg};
use russh::keys::ssh_encoding::Encode;
use russh::keys::PrivateKey;
use russh::Channel;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::remote::DeployKey;

/// Agent protocol messages (draft-miller-ssh-agent).
const FAILURE: u8 = 5;
const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;

/// Sign-request flags asking for an RSA signature with SHA-256 / SHA-512.
const RSA_SHA2_256: u32 = 2;
const RSA_SHA2_512: u32 = 4;

/// No real request comes near this; a larger length ends the conversation.
const MAX_FRAME: usize = 256 * 1024;

/// The deploy key while a sync channel that may use it is open.
#[derive(Default)]
pub(super) struct DeployAgent {
    serving: Mutex<Option<DeployKey>>,
    open: AtomicUsize,
    ever: AtomicBool,
}

/// Keeps the deploy key served while a sync channel runs.
pub(super) struct Serving(Arc<DeployAgent>);

impl DeployAgent {
    pub(super) fn open(self: &Arc<Self>, key: DeployKey) -> Serving {
        *self.serving.lock().unwrap_or_else(|p| p.into_inner()) = Some(key);
        self.ever.store(true, Ordering::SeqCst);
        self.open.fetch_add(1, Ordering::SeqCst);
        Serving(self.clone())
    }

    /// Whether any channel of this connection ever had the deploy agent.
    pub(super) fn ever_opened(&self) -> bool {
        self.ever.load(Ordering::SeqCst)
    }

    /// The key to serve, while a channel that may use it is open.
    pub(super) fn serving(&self) -> Option<DeployKey> {
        if self.open.load(Ordering::SeqCst) == 0 {
            return None;
        }
        self.serving
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            *self.0.serving.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// The node asks to reach the agent while the deploy key is served.
pub(super) async fn answer(key: DeployKey, channel: Channel<Msg>, reply: ChannelOpenHandle) {
    reply.accept().await;
    tokio::spawn(async move {
        let mut stream = channel.into_stream();
        // The node closing the channel ends the conversation; a malformed
        // request does too. Nothing to report either way.
        let _ = serve(key.key(), &mut stream).await;
        let _ = stream.shutdown().await;
    });
}

/// Answers requests on `stream` until it ends.
pub(super) async fn serve<S>(key: &PrivateKey, stream: &mut S) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let mut len = [0u8; 4];
        match stream.read_exact(&mut len).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_FRAME {
            return Err(std::io::Error::other("agent request of a bad length"));
        }
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await?;
        let reply = respond(key, &body);
        stream
            .write_all(&(reply.len() as u32).to_be_bytes())
            .await?;
        stream.write_all(&reply).await?;
        stream.flush().await?;
    }
}

/// The reply to one request (without its length).
fn respond(key: &PrivateKey, request: &[u8]) -> Vec<u8> {
    let answer = match request.split_first() {
        Some((&REQUEST_IDENTITIES, _)) => identities(key),
        Some((&SIGN_REQUEST, rest)) => sign(key, rest),
        _ => None,
    };
    answer.unwrap_or_else(|| vec![FAILURE])
}

fn public_blob(key: &PrivateKey) -> Option<Vec<u8>> {
    key.public_key().key_data().encode_vec().ok()
}

fn identities(key: &PrivateKey) -> Option<Vec<u8>> {
    let blob = public_blob(key)?;
    let mut out = vec![IDENTITIES_ANSWER];
    out.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut out, &blob);
    put_string(&mut out, b"ops deploy key");
    Some(out)
}

/// `string key_blob, string data, uint32 flags`: a signature by the deploy
/// key, when the blob is its public key.
fn sign(key: &PrivateKey, mut rest: &[u8]) -> Option<Vec<u8>> {
    let blob = take_string(&mut rest)?;
    let data = take_string(&mut rest)?;
    let flags = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    if blob != public_blob(key)?.as_slice() {
        return None;
    }
    let signature = signature(key, data, flags)?;
    let mut out = vec![SIGN_RESPONSE];
    put_string(&mut out, &signature);
    Some(out)
}

/// The encoded signature (`string algorithm, string blob`) of `data`.
fn signature(key: &PrivateKey, data: &[u8], flags: u32) -> Option<Vec<u8>> {
    use russh::keys::signature::Signer;
    use russh::keys::ssh_key::private::KeypairData;
    use russh::keys::ssh_key::Signature;
    use russh::keys::HashAlg;
    let signature: Signature = match key.key_data() {
        KeypairData::Rsa(rsa) => {
            // ssh-rsa (SHA-1) is not offered: OpenSSH asks for SHA-2.
            let hash = if flags & RSA_SHA2_512 != 0 {
                HashAlg::Sha512
            } else if flags & RSA_SHA2_256 != 0 {
                HashAlg::Sha256
            } else {
                return None;
            };
            Signer::try_sign(&(rsa, Some(hash)), data).ok()?
        }
        keypair => Signer::try_sign(keypair, data).ok()?,
    };
    signature.encode_vec().ok()
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn take_string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let bytes = rest.get(4..4 + len)?;
    *rest = &rest[4 + len..];
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PrivateKey {
        use russh::keys::ssh_key::private::Ed25519Keypair;
        PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[tokio::test]
    async fn lists_and_signs_with_the_deploy_key_only() {
        let key = key(1);
        let blob = public_blob(&key).unwrap();
        let (mut client, mut server) = tokio::io::duplex(4096);
        let served = key.clone();
        let task = tokio::spawn(async move { serve(&served, &mut server).await });

        client
            .write_all(&frame(&[REQUEST_IDENTITIES]))
            .await
            .unwrap();
        let mut len = [0u8; 4];
        client.read_exact(&mut len).await.unwrap();
        let mut answer = vec![0u8; u32::from_be_bytes(len) as usize];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer[0], IDENTITIES_ANSWER);
        assert_eq!(&answer[1..5], &1u32.to_be_bytes());
        let mut rest = &answer[5..];
        assert_eq!(take_string(&mut rest).unwrap(), blob.as_slice());

        let mut request = vec![SIGN_REQUEST];
        put_string(&mut request, &blob);
        put_string(&mut request, b"session data");
        request.extend_from_slice(&0u32.to_be_bytes());
        client.write_all(&frame(&request)).await.unwrap();
        client.read_exact(&mut len).await.unwrap();
        let mut answer = vec![0u8; u32::from_be_bytes(len) as usize];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer[0], SIGN_RESPONSE);
        let mut rest = &answer[1..];
        let mut encoded = take_string(&mut rest).unwrap();
        use russh::keys::signature::Verifier;
        use russh::keys::ssh_encoding::Decode;
        let signature = russh::keys::ssh_key::Signature::decode(&mut encoded).unwrap();
        Verifier::verify(key.public_key().key_data(), b"session data", &signature).unwrap();

        // Adding a key (17), or signing with another key, is refused.
        let other = public_blob(&self::key(2)).unwrap();
        let mut request = vec![SIGN_REQUEST];
        put_string(&mut request, &other);
        put_string(&mut request, b"x");
        request.extend_from_slice(&0u32.to_be_bytes());
        for body in [vec![17u8, 0, 0, 0, 0], request] {
            client.write_all(&frame(&body)).await.unwrap();
            client.read_exact(&mut len).await.unwrap();
            let mut answer = vec![0u8; u32::from_be_bytes(len) as usize];
            client.read_exact(&mut answer).await.unwrap();
            assert_eq!(answer, vec![FAILURE]);
        }
        drop(client);
        task.await.unwrap().unwrap();
    }
}
