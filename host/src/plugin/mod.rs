//! The WebAssembly plugin runtime.
pub mod list;
