//! Compiled components cached on disk, keyed by the SHA-256 of the component bytes and
//! wasmtime's precompile-compatibility hash (wasmtime version, target and engine settings).

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

fn cache_path(engine: &Engine, dir: &Path, bytes: &[u8]) -> PathBuf {
    let digest = hex::encode(Sha256::digest(bytes));
    // DefaultHasher::new() uses fixed keys: stable for a given build of this binary, which is
    // all a cache key needs (a different build at worst recompiles).
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
}

/// Loads a precompiled artefact written by [`store`].
#[allow(unsafe_code, reason = "Component::deserialize_file is unsafe: it maps native code from disk")]
fn load(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: the file was produced by `Component::serialize` for an engine with the same
    // compatibility hash (it is in the file name) and lives in the host's private cache
    // directory; it is written to a temporary name and atomically renamed, so it is never
    // modified while mapped. wasmtime still validates the header and rejects artefacts
    // from an incompatible engine.
    let component = unsafe { Component::deserialize_file(engine, path) }?;
    Ok(component)
}

fn store(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bytes = component.serialize()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Compiles `bytes`, or loads the cached compilation from `cache_dir`.
pub(crate) fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
    id: &str,
) -> anyhow::Result<Component> {
    let Some(dir) = cache_dir else {
        return Ok(Component::new(engine, bytes)?);
    };
    let path = cache_path(engine, dir, bytes);
    if path.is_file() {
        match load(engine, &path) {
            Ok(c) => {
                tracing::debug!(component = id, path = %path.display(), "loaded cached compilation");
                return Ok(c);
            }
            Err(e) => {
                tracing::warn!(component = id, path = %path.display(), error = %format!("{e:#}"),
                    "ignoring unusable cached compilation");
            }
        }
    }
    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes)?;
    tracing::info!(component = id, elapsed_ms = started.elapsed().as_millis(), "compiled component");
    if let Err(e) = store(dir, &path, &component) {
        tracing::warn!(component = id, error = %format!("{e:#}"), "cannot cache compilation");
    }
    Ok(component)
}
