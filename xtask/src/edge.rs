//! The Worker bundle, after cargo has built `ocomms_edge.wasm`: the steps `worker-build`
//! would do, without its downloads.
//!
//! 1. npm tools pinned in `edge-gateway/package-lock.json`: wrangler (and its workerd),
//!    esbuild, binaryen's `wasm-opt`.
//! 2. The wasm-bindgen CLI of exactly the version in Cargo.lock, installed from crates.io
//!    into `target/tools` when missing.
//! 3. `wasm-bindgen --target module`, `wasm-opt -Oz` (skipped when its input did not change),
//!    and esbuild bundling `edge-gateway/js/shim.mjs` with the bindings into
//!    `target/edge/dist/worker.mjs` next to `index_bg.wasm`: what `edge-gateway/wrangler.toml`
//!    deploys and the edge tests run under `wrangler dev`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{build, run, step, system};

/// The deployable bundle.
pub const DIST: &str = "target/edge/dist";
/// Where the pinned wasm-bindgen CLI is installed.
const TOOLS: &str = "target/tools";
/// The npm project with the pinned tools.
const NODE_DIR: &str = "edge-gateway";

fn root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Turns the cargo-built `ocomms_edge.wasm` into the Worker bundle.
pub fn package() -> Result<()> {
    step("edge tools (npm ci in edge-gateway: wrangler, esbuild, binaryen)", npm_tools)?;
    let bindgen = step("wasm-bindgen CLI (the Cargo.lock version)", wasm_bindgen_cli)?;
    step("bundle the edge worker (wasm-bindgen, wasm-opt, esbuild)", || bundle(&bindgen))
}

/// `npm ci` when node_modules is missing or older than the lockfile.
pub fn npm_tools() -> Result<()> {
    system::ensure_node()?;
    let dir = root().join(NODE_DIR);
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules").join(".package-lock.json");
    if build::newest(&[lock, dir.join("package.json")]) > build::modified(&installed) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))
    } else {
        println!("    {NODE_DIR}/node_modules is up to date");
        Ok(())
    }
}

fn node_bin(tool: &str) -> PathBuf {
    root().join(NODE_DIR).join("node_modules").join(".bin").join(tool)
}

/// The version of `package` that Cargo.lock pins.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"") {
            let version = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")?.strip_suffix('"'));
            if let Some(v) = version {
                return Ok(v.to_string());
            }
        }
    }
    bail!("Cargo.lock has no {package}")
}

pub fn installed_version(bin: &Path) -> Option<String> {
    let out = Command::new(bin).arg("--version").stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(str::to_string)
}

/// The wasm-bindgen CLI must match the library version exactly (the wasm's custom sections
/// are versioned). Installed from crates.io with `cargo install`; `--locked` first, then
/// without it, since the CLI's own lockfile can name a yanked crate.
fn wasm_bindgen_cli() -> Result<PathBuf> {
    let version = locked_version("wasm-bindgen")?;
    let tools = root().join(TOOLS);
    let bin = tools.join("bin").join("wasm-bindgen");
    if installed_version(&bin).as_deref() == Some(version.as_str()) {
        println!("    {} is {version}", bin.display());
        return Ok(bin);
    }
    println!("    installing wasm-bindgen-cli {version} into {}", tools.display());
    let install = |locked: bool| {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["install", "wasm-bindgen-cli", "--version", &version, "--force", "--root"]).arg(&tools);
        if locked {
            cmd.arg("--locked");
        }
        // A build tool run once per build: compile it quickly rather than make it fast.
        cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env_remove("CARGO_TARGET_DIR");
        run(&mut cmd)
    };
    if install(true).is_err() {
        println!("    `cargo install --locked` failed; retrying with a fresh resolution");
        install(false)?;
    }
    match installed_version(&bin) {
        Some(v) if v == version => Ok(bin),
        other => bail!("{} reports version {other:?}, expected {version}", bin.display()),
    }
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `gzip -9` size, what the Workers upload limit counts; 0 if gzip is missing.
fn gzip_size(path: &Path) -> u64 {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).stderr(Stdio::null()).output();
    out.map(|o| o.stdout.len() as u64).unwrap_or(0)
}

fn kib(n: u64) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

fn bundle(bindgen: &Path) -> Result<()> {
    let root = root();
    let raw = root.join(build::EDGE_OUT);
    let work = root.join("target/edge/bindgen");
    let dist = root.join(DIST);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    std::fs::create_dir_all(&dist)?;
    run(Command::new(bindgen)
        .args(["--target", "module", "--out-name", "index", "--no-typescript", "--out-dir"])
        .arg(&work)
        .arg(&raw))?;

    // wasm-opt takes minutes (binaryen from npm runs as wasm under Node): reuse its output
    // while the input is byte-for-byte the same.
    let unopt = work.join("index_bg.wasm");
    let opt = dist.join("index_bg.wasm");
    let last_input = root.join("target/edge/index_bg.wasm-opt-input");
    let input = std::fs::read(&unopt).context("read wasm-bindgen's output")?;
    if std::env::var_os("OCOMMS_EDGE_WASM_OPT").is_some_and(|v| v == "0") {
        println!("    wasm-opt skipped (OCOMMS_EDGE_WASM_OPT=0)");
        std::fs::copy(&unopt, &opt)?;
        let _ = std::fs::remove_file(&last_input);
    } else if opt.exists() && std::fs::read(&last_input).is_ok_and(|prev| prev == input) {
        println!("    wasm-opt: input unchanged, reusing {}", opt.display());
    } else {
        run(Command::new(node_bin("wasm-opt")).args(["-Oz"]).arg(&unopt).arg("-o").arg(&opt))?;
        std::fs::write(&last_input, &input)?;
    }

    std::fs::copy(root.join(NODE_DIR).join("js/shim.mjs"), work.join("shim.mjs"))?;
    run(Command::new(node_bin("esbuild"))
        .arg(work.join("shim.mjs"))
        .args(["--bundle", "--format=esm", "--external:*.wasm", "--external:cloudflare:*", "--log-level=warning"])
        .arg(format!("--outfile={}", dist.join("worker.mjs").display())))?;

    let report = format!(
        "edge worker sizes: cargo {} -> wasm-bindgen {} -> wasm-opt -Oz {} (gzip -9: {}); worker.mjs {}",
        kib(size(&raw)),
        kib(size(&unopt)),
        kib(size(&opt)),
        kib(gzip_size(&opt)),
        kib(size(&dist.join("worker.mjs"))),
    );
    println!("    {report}");
    // Beside the bundle, not in it: wrangler would upload a .txt in dist as a module.
    std::fs::write(root.join("target/edge/SIZES.txt"), format!("{report}\n"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_sizes() {
        assert_eq!(super::kib(1536), "1.5 KiB");
    }
}
