//! Host bindings generated from `wit/v0.1.0` (frozen) by wasmtime's
//! `bindgen!`, one module per world. The host implements these imports by
//! converting to and from the latest API (`super::v0_3_0`). The interfaces the worlds share (`types`, `log`,
//! `node`, `local`, `environment`) are generated once, in [`sync`], and
//! reused by the other two worlds, so the host implements each only once.

pub mod sync {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "sync-strategy",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod auth {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "registry-auth",
        imports: { default: async },
        exports: { default: async },
        with: {
            "ops:plugin/types": super::sync::ops::plugin::types,
            "ops:plugin/log": super::sync::ops::plugin::log,
            "ops:plugin/environment": super::sync::ops::plugin::environment,
        },
    });
}

pub mod image {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "image-builder",
        imports: { default: async },
        exports: { default: async },
        with: {
            "ops:plugin/types": super::sync::ops::plugin::types,
            "ops:plugin/log": super::sync::ops::plugin::log,
            "ops:plugin/node": super::sync::ops::plugin::node,
            "ops:plugin/local": super::sync::ops::plugin::local,
            "ops:plugin/environment": super::sync::ops::plugin::environment,
        },
    });
}

pub use sync::ops::plugin::types;
