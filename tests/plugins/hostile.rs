//! Hostile plugins written for one attack each: a core module in the text
//! format, with the canonical ABI by hand, made a component of the plugin
//! API 0.2.0 world (and the WASI interfaces it uses) by wit-component, as
//! `cargo build` and `ops plugin build` would.
//!
//! Every one is a sync strategy named `hostile` whose `metadata` declares
//! what the test asks for; the test gives the bodies of `metadata` and
//! `sync`, and any extra imports and data. Shared by the runtime and the
//! end-to-end tests.

use std::path::PathBuf;
use std::sync::Arc;

fn repo_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host crate is in the repository")
        .to_path_buf()
}

/// Where the static data starts; below it is scratch for return areas.
const DATA: u32 = 1024;
/// Where `cabi_realloc` starts handing out memory.
const HEAP: u32 = 32 * 1024;

/// Little-endian words and strings laid out from [`DATA`] on.
pub struct Data {
    bytes: Vec<u8>,
}

impl Data {
    pub fn new() -> Data {
        Data { bytes: Vec::new() }
    }

    fn here(&self) -> u32 {
        DATA + self.bytes.len() as u32
    }

    fn align(&mut self) {
        while self.bytes.len() % 8 != 0 {
            self.bytes.push(0);
        }
    }

    /// A string; its (pointer, length).
    pub fn string(&mut self, text: &str) -> (u32, u32) {
        self.align();
        let at = self.here();
        self.bytes.extend_from_slice(text.as_bytes());
        (at, text.len() as u32)
    }

    /// 32-bit words (enum and variant tags are a byte, padded to the
    /// word that follows); their address.
    pub fn words(&mut self, words: &[u32]) -> u32 {
        self.align();
        let at = self.here();
        for w in words {
            self.bytes.extend_from_slice(&w.to_le_bytes());
        }
        at
    }

    /// A `list<string>`: its (pointer, length).
    pub fn strings(&mut self, items: &[&str]) -> (u32, u32) {
        let pairs: Vec<u32> = items
            .iter()
            .flat_map(|s| {
                let (p, l) = self.string(s);
                [p, l]
            })
            .collect();
        (self.words(&pairs), items.len() as u32)
    }

    fn wat(&self) -> String {
        let escaped: String = self.bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        format!("(data (i32.const {DATA}) \"{escaped}\")")
    }
}

/// A capability as `metadata` returns it: its tag and the strings of its
/// payload (`local-exec` is 2 with program names, `http` 5 with hosts).
pub struct Cap<'a>(pub u32, pub &'a [&'a str]);

pub const REMOTE_FILES: Cap<'static> = Cap(1, &[]);

/// The address of a `plugin-metadata` record for `hostile` declaring
/// `caps`, for the body of `metadata` to return.
pub fn metadata(data: &mut Data, caps: &[Cap<'_>]) -> u32 {
    let name = data.string("hostile");
    let version = data.string("0.1.0");
    let api = data.string("0.2.0");
    let description = data.string("one attack");
    let mut elements = Vec::new();
    for Cap(tag, items) in caps {
        let (p, l) = data.strings(items);
        elements.extend([*tag, p, l]);
    }
    let caps_at = if elements.is_empty() {
        0
    } else {
        data.words(&elements)
    };
    data.words(&[
        name.0,
        name.1,
        version.0,
        version.1,
        api.0,
        api.1,
        0, // sync-strategy
        description.0,
        description.1,
        caps_at,
        caps.len() as u32,
    ])
}

/// `result<sync-outcome, string>`, ok, with `summary`: its address.
pub fn sync_ok(data: &mut Data, summary: &str) -> u32 {
    let (p, l) = data.string(summary);
    data.words(&[0, 0, 0, 0, p, l])
}

/// The hostile component. `imports` and `funcs` are core module fields;
/// `metadata_body` returns the metadata's address, `sync_body` the address
/// of a `result<sync-outcome, string>` (the error of a host call's
/// `result<_, string>` has the same layout, so a failed call's return area
/// can be handed back as it is).
pub fn component(
    data: &Data,
    imports: &str,
    funcs: &str,
    metadata_body: &str,
    sync_body: &str,
) -> Arc<[u8]> {
    component_with_memories(data, imports, funcs, metadata_body, sync_body, "")
}

/// [`component`] with more core memories beside the one the ABI uses.
pub fn component_with_memories(
    data: &Data,
    imports: &str,
    funcs: &str,
    metadata_body: &str,
    sync_body: &str,
    memories: &str,
) -> Arc<[u8]> {
    let i32s = |n: usize| vec!["i32"; n].join(" ");
    let ok_unit = DATA - 16;
    let wat = format!(
        r#"(module
            {imports}
            (memory (export "memory") 2)
            {memories}
            (global $heap (mut i32) (i32.const {HEAP}))
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
              (local $at i32)
              (local.set $at (i32.and
                (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                (i32.sub (i32.const 0) (local.get 2))))
              (global.set $heap (i32.add (local.get $at) (local.get 3)))
              (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                (then (drop (memory.grow (i32.add (i32.div_u (local.get 3) (i32.const 65536)) (i32.const 1))))))
              (local.get $at))
            {data}
            {funcs}
            (func (export "ops:plugin/plugin@0.2.0#metadata") (result i32) {metadata_body})
            (func (export "ops:plugin/plugin@0.2.0#validate") (param i32 i32) (result i32)
              (i32.store (i32.const {ok_unit}) (i32.const 0))
              (i32.const {ok_unit}))
            (func (export "ops:plugin/sync@0.2.0#sync") (param {p10}) (result i32) {sync_body})
            (func (export "ops:plugin/registry@0.2.0#get-credentials") (param {p4}) (result i32) unreachable)
            (func (export "ops:plugin/image@0.2.0#login") (param {p8}) (result i32) unreachable)
            (func (export "ops:plugin/image@0.2.0#build") (param {p12}) (result i32) unreachable)
            (func (export "ops:plugin/image@0.2.0#push") (param {p6}) (result i32) unreachable)
        )"#,
        data = data.wat(),
        p4 = i32s(4),
        p6 = i32s(6),
        p8 = i32s(8),
        p10 = i32s(10),
        p12 = i32s(12),
    );
    let mut module = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    let (resolve, world) = world();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
        .into()
}

/// The plugin API's world with the WASI interfaces a hostile plugin may
/// import beside it.
fn world() -> (wit_parser::Resolve, wit_parser::WorldId) {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(repo_root().join("plugins/testing/wasi-probe/wit"))
        .unwrap();
    resolve
        .push_file(repo_root().join("wit/v0.2.0/plugin.wit"))
        .unwrap();
    let package = resolve
        .push_str(
            "hostile.wit",
            "package ops-testing:hostile;\n\
             world hostile {\n\
                 import wasi:clocks/monotonic-clock@0.2.12;\n\
                 import wasi:io/poll@0.2.12;\n\
                 include ops:plugin/ops-plugin@0.2.0;\n\
             }\n",
        )
        .unwrap();
    let world = resolve.select_world(&[package], Some("hostile")).unwrap();
    (resolve, world)
}

/// Core imports of the WASI clock wait: a pollable for a duration, and
/// blocking on it.
pub const CLOCK_IMPORTS: &str = r#"
    (import "wasi:clocks/monotonic-clock@0.2.12" "subscribe-duration" (func $subscribe (param i64) (result i32)))
    (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
"#;

/// Waits an hour on the WASI monotonic clock.
pub const CLOCK_WAIT: &str = "(call $block (call $subscribe (i64.const 3600000000000)))";
