//! A cargo invocation that can build a given wasm target on this machine.
//!
//! Order of preference:
//! 1. the active rustup toolchain, if it already has the target;
//! 2. `rustup target add`, with a short timeout (its download server is not always reachable);
//! 3. Debian's `rustc-web` (rustc/cargo at /usr/bin, std sources in /usr/lib/rustlib/src)
//!    with `-Zbuild-std`: needs only the Debian archive, so air-gapped mirrors work too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::system;

pub const DEBIAN_PACKAGES: &[&str] =
    &["rustc-web", "cargo-web", "rust-web-src", "wasi-libc", "rust-web-llvm", "lld-22"];
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";
const DEBIAN_TOOL_BIN: &str = "/usr/lib/rustlib/x86_64-unknown-linux-gnu/bin";
const WASI_LIBC: &str = "/usr/lib/wasm32-wasi";

#[derive(Debug, Clone)]
pub enum Toolchain {
    Rustup,
    Debian,
}

/// Chooses how to build `target`, installing what is missing when possible.
pub fn for_target(target: &str, offline: bool) -> Result<Toolchain> {
    if !offline {
        if rustup_has(target) {
            return Ok(Toolchain::Rustup);
        }
        if which("rustup").is_some() {
            println!("    rustup has no {target}; trying `rustup target add {target}` (60 s limit)");
            if system::run_with_timeout(Command::new("rustup").args(["target", "add", target]), Duration::from_secs(60))
                .is_ok()
                && rustup_has(target)
            {
                return Ok(Toolchain::Rustup);
            }
            println!("    rustup could not download {target}; falling back to Debian's rustc-web");
        }
    } else {
        println!("    offline toolchain requested: Debian rustc-web with build-std for {target}");
    }
    ensure_debian()?;
    Ok(Toolchain::Debian)
}

fn rustup_has(target: &str) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else { return false };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    sysroot.join("lib/rustlib").join(target).join("lib").is_dir()
}

fn debian_ready() -> bool {
    Path::new(DEBIAN_RUSTC).exists()
        && Path::new(DEBIAN_CARGO).exists()
        && Path::new(DEBIAN_STD_SRC).is_dir()
        && Path::new(DEBIAN_TOOL_BIN).join("wasm-component-ld").exists()
        && Path::new(WASI_LIBC).is_dir()
        && which("rust-lld").is_some()
}

fn ensure_debian() -> Result<()> {
    if debian_ready() {
        return Ok(());
    }
    system::apt_install(DEBIAN_PACKAGES, "the offline Rust toolchain for WebAssembly")?;
    if !debian_ready() {
        bail!(
            "Debian's rustc-web toolchain is incomplete after installing {DEBIAN_PACKAGES:?}: need {DEBIAN_RUSTC}, \
             {DEBIAN_CARGO}, {DEBIAN_STD_SRC}, {DEBIAN_TOOL_BIN}/wasm-component-ld, {WASI_LIBC} and rust-lld on PATH"
        );
    }
    Ok(())
}

/// `cargo build` for `target` with everything the chosen toolchain needs set.
pub fn cargo_build(tc: &Toolchain, target: &str, root: &Path) -> Result<Command> {
    Ok(match tc {
        Toolchain::Rustup => {
            let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            c.args(["build", "--target", target]);
            c
        }
        Toolchain::Debian => {
            let mut c = Command::new(DEBIAN_CARGO);
            // The rustup proxies come first on PATH; pin every tool to Debian's.
            let path =
                format!("{DEBIAN_TOOL_BIN}:{DEBIAN_TOOL_BIN}/gcc-ld:{}", std::env::var("PATH").unwrap_or_default());
            c.env("PATH", path)
                .env("RUSTC", DEBIAN_RUSTC)
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO")
                .env("RUSTC_BOOTSTRAP", "1")
                // A separate target dir: artefacts of two compilers must not mix.
                .env("CARGO_TARGET_DIR", root.join("target/offline"));
            let mut flags = String::from("-C link-self-contained=no");
            if target == "wasm32-wasip2" {
                flags.push_str(&format!(" -L {WASI_LIBC} -C linker={DEBIAN_TOOL_BIN}/wasm-component-ld"));
            } else {
                flags.push_str(" -C linker=rust-lld");
            }
            c.env(format!("CARGO_TARGET_{}_RUSTFLAGS", target.to_uppercase().replace('-', "_")), flags);
            c.args(["build", "--target", target, "-Zbuild-std=std,panic_abort"]);
            c
        }
    })
}

/// Where the build of `profile` for `target` leaves its artefacts.
pub fn out_dir(tc: &Toolchain, target: &str, profile: &str, root: &Path) -> PathBuf {
    let base = match tc {
        Toolchain::Rustup => root.join("target"),
        Toolchain::Debian => root.join("target/offline"),
    };
    base.join(target).join(profile)
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// What a failed wasm build used, so the user knows which path broke.
pub fn describe(tc: &Toolchain, target: &str) -> String {
    match tc {
        Toolchain::Rustup => format!("building {target} with the rustup toolchain"),
        Toolchain::Debian => format!("building {target} with Debian's rustc-web and build-std"),
    }
}
