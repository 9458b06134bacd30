//! Embeds the built web client (`web/dist`, made by `cargo xtask build web`) in the host
//! binary, so one file serves the whole product. Without `web/dist` the host still builds
//! and serves a page that says how to build the client.
//!
//! No crate is needed: we generate a table of `include_bytes!` over the files, which also
//! makes rustc track each file's contents; watching the directory catches added or removed
//! files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("..").join("web");
    let dist = web.join("dist");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("web_assets.rs");

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        // Cargo scans a watched directory recursively for changes.
        println!("cargo:rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files);
        files.sort();
    } else {
        // A path that does not exist would make Cargo rerun this script on every build, so
        // watch the client's folder instead: building the client creates dist/ inside it.
        println!("cargo:rerun-if-changed={}", web.display());
        println!(
            "cargo:warning=web/dist not found: the host will not embed the web client (run `cargo xtask build web`)"
        );
    }

    let mut code = String::from(
        "/// The built web client, embedded at compile time (see build.rs).\npub static ASSETS: &[Asset] = &[\n",
    );
    for (rel, abs) in &files {
        let _ = writeln!(code, "    Asset {{ path: {rel:?}, bytes: include_bytes!({abs:?}) }},");
    }
    code.push_str("];\n");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("write {}: {e}", out.display());
    }
}

/// Every file under `dir` as (path relative to `root` with `/` separators, absolute path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let (Ok(rel), Some(abs)) = (path.strip_prefix(root), path.canonicalize().ok()) {
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((rel.join("/"), abs.to_string_lossy().into_owned()));
        }
    }
}
