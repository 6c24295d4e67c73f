//! Host bindings generated from `wit/v0.3.0`, the API the host implements,
//! by wasmtime's `bindgen!`: its one world, `ops-plugin`, which every
//! plugin of this version targets whatever its kind.

wasmtime::component::bindgen!({
    path: "../wit/v0.3.0",
    world: "ops-plugin",
    imports: { default: async },
    exports: { default: async },
});
