//! Links the WebAssembly component with room for a request's heap in its initial memory.

/// 8 MiB: the 1 MiB stack, the data, and the heap a request typically uses. A request that
/// starts in a memory this large does not `memory.grow`, and the host need not change the
/// protection of its slot on every request (the host resets only written pages, so pages
/// no request touches cost nothing).
const INITIAL_MEMORY: u64 = 8 << 20;

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=--initial-memory={INITIAL_MEMORY}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
