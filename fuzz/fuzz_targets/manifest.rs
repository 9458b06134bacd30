//! The spin.toml parser: any text parses or fails with a displayable error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports, reason = "only `parse` is exercised")]
#[path = "../../wasm-host/src/manifest/mod.rs"]
mod manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = manifest::parse(text, std::path::Path::new("/app")) {
        assert!(!e.to_string().is_empty());
    }
});
