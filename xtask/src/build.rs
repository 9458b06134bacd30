//! Building each part of the product.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Options, run, step, toolchain};

pub const COMPONENT_TARGET: &str = "wasm32-wasip2";
pub const EDGE_TARGET: &str = "wasm32-unknown-unknown";
/// Where the host and spin.toml expect the component (the manifest's `source`).
pub const COMPONENT_OUT: &str = "target/components/ocomms_component.wasm";
pub const EDGE_OUT: &str = "target/edge/ocomms_edge.wasm";

pub fn build(opts: &Options, what: &str) -> Result<()> {
    match what {
        "all" => {
            component(opts)?;
            edge(opts)?;
            web()?;
            host(opts.release)
        }
        "component" => component(opts),
        "fixtures" => components_with_fixtures(opts),
        "edge" => edge(opts),
        "host" => host(opts.release),
        "web" => web(),
        other => bail!("unknown build target {other:?}: use all, component, fixtures, edge, host or web"),
    }
}

fn root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Builds wasm crates for `target` in ONE cargo invocation (so shared dependencies resolve
/// to the same features and compile once) and copies each artefact to its destination.
fn wasm(opts: &Options, target: &str, outputs: &[(&str, &str, &str)]) -> Result<()> {
    let root = root();
    let tc = toolchain::for_target(target, opts.offline)?;
    println!("    {}", toolchain::describe(&tc, target));
    let mut cmd = toolchain::cargo_build(&tc, target, &root)?;
    for (package, _, _) in outputs {
        cmd.args(["--package", package]);
    }
    cmd.args(["--profile", "wasm"]);
    run(&mut cmd).with_context(|| toolchain::describe(&tc, target))?;
    for (_, artefact, dest) in outputs {
        let built = toolchain::out_dir(&tc, target, "wasm", &root).join(artefact);
        let dest = root.join(dest);
        std::fs::create_dir_all(dest.parent().unwrap_or(Path::new(".")))?;
        std::fs::copy(&built, &dest).with_context(|| format!("copy {} to {}", built.display(), dest.display()))?;
        let size = std::fs::metadata(&dest)?.len();
        println!("    {} ({} KiB)", dest.display(), size / 1024);
    }
    Ok(())
}

const COMPONENT: (&str, &str, &str) = ("ocomms-component", "ocomms_component.wasm", COMPONENT_OUT);
/// Test-only: a component that loops forever or panics, for the deadline test.
const LOOPER: (&str, &str, &str) =
    ("ocomms-fixture-looper", "ocomms_fixture_looper.wasm", "target/components/looper.wasm");

/// Test-only: a component that makes one spin:postgres call and reports what came back.
const PGPROBE: (&str, &str, &str) =
    ("ocomms-fixture-pgprobe", "ocomms_fixture_pgprobe.wasm", "target/components/pgprobe.wasm");

/// The functions component and, for the tests, the fixture components, built together.
pub fn components_with_fixtures(opts: &Options) -> Result<()> {
    step("build functions component and test fixtures (wasm32-wasip2)", || {
        wasm(opts, COMPONENT_TARGET, &[COMPONENT, LOOPER, PGPROBE])
    })
}

pub fn component(opts: &Options) -> Result<()> {
    step("build functions component (wasm32-wasip2)", || wasm(opts, COMPONENT_TARGET, &[COMPONENT]))
}

/// The edge worker: the wasm from cargo, then the deployable bundle (see `edge.rs`).
pub fn edge(opts: &Options) -> Result<()> {
    step("build edge worker (wasm32-unknown-unknown)", || {
        wasm(opts, EDGE_TARGET, &[("ocomms-edge", "ocomms_edge.wasm", EDGE_OUT)])
    })?;
    crate::edge::package()
}

pub fn host(release: bool) -> Result<()> {
    step(if release { "build host (release)" } else { "build host" }, || {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--package", "wasm-host"]);
        if release {
            cmd.arg("--release");
        }
        run(&mut cmd)
    })
}

/// The host and every native crate with the features `cargo test --workspace` resolves, so
/// the test run that follows reuses these artefacts instead of compiling wasmtime again.
pub fn native_workspace() -> Result<()> {
    step("build host and native crates (cargo build --workspace)", || {
        run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(["build", "--workspace"]))
    })
}

/// The web client (web/, TypeScript + React, built by Vite into web/dist, which the host
/// embeds). `npm ci` (or `npm install` without a lockfile) runs when node_modules is older
/// than the lockfile; the build runs when any source is newer than web/dist. Skipping an
/// up-to-date build matters: a rewritten web/dist makes cargo recompile the host.
pub fn web() -> Result<()> {
    step("build web client", || {
        let web = root().join("web");
        if !web.join("package.json").exists() {
            bail!("web/package.json is missing");
        }
        crate::system::ensure_node()?;
        let lock = web.join("package-lock.json");
        let installed = web.join("node_modules").join(".package-lock.json");
        if !lock.exists() || newest(&[lock.clone(), web.join("package.json")]) > modified(&installed) {
            let install = if lock.exists() { "ci" } else { "install" };
            run(Command::new("npm").arg(install).arg("--no-audit").arg("--no-fund").current_dir(&web))?;
        }
        let inputs = ["src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"]
            .map(|p| web.join(p));
        let built = web.join("dist").join("index.html");
        if newest(&inputs) > modified(&built) {
            run(Command::new("npm").args(["run", "build"]).current_dir(&web))?;
        } else {
            println!("    web/dist is up to date");
        }
        Ok(())
    })
}

pub fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest modification time of the files (recursively under directories).
pub fn newest(paths: &[PathBuf]) -> Option<std::time::SystemTime> {
    let mut best = None;
    for p in paths {
        let t = if p.is_dir() {
            let children: Vec<PathBuf> =
                std::fs::read_dir(p).into_iter().flatten().flatten().map(|e| e.path()).collect();
            newest(&children).max(modified(p))
        } else {
            modified(p)
        };
        best = best.max(t);
    }
    best
}
