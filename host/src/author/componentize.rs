//! A core wasm module (from `wasm32-unknown-unknown`) into a component,
//! with the same wit-component as `cargo xtask plugins` uses for the
//! built-ins: the WIT world travels inside the module as a custom section
//! that wit-bindgen wrote, so nothing else is needed.

pub fn component(module: &[u8]) -> Result<Vec<u8>, String> {
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .map_err(|e| format!("reading the core module: {e:#}"))?
        .encode()
        .map_err(|e| format!("encoding the component: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_a_reason() {
        // The smallest valid core module: magic and version.
        let module = b"\0asm\x01\0\0\0";
        // A module without wit-bindgen's section is an empty component:
        // valid, but not a plugin; the load check after the build says so.
        assert!(component(module).is_ok());
        let err = component(b"not wasm").unwrap_err();
        assert!(err.contains("reading the core module"), "{err}");
    }
}
