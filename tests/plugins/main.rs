//! Runtime tests of the plugin host with real components: the built-ins
//! from `plugins/dist/`, the misbehaving test plugin from
//! `plugins/dist/testing/`, and small components written in the component
//! text format.
//!
//! The build node here is [`recorder::Recorder`], an in-process
//! `RemoteNode` that records what plugins ask it to run and answers with
//! scripted exits: no real node is involved at this layer. The end-to-end
//! tests run the same plugins against a real sshd, git and dockerd.

mod recorder;
mod support;

mod builtins;
mod cache;
mod capabilities;
mod confinement;
mod docker;
mod escalation;
mod git;
mod hostile;
mod http;
mod limits;
mod list;
mod output;
mod version;
mod wasi;
