//! Host bindings generated from `wit/v0.2.0` (frozen) by wasmtime's
//! `bindgen!`: its one world, `ops-plugin`. The host implements these
//! imports by converting to and from the latest API (`super::v0_3_0`).

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "ops-plugin",
    imports: { default: async },
    exports: { default: async },
});
