//! `cargo xtask dist`: the release bundle, one tarball an operator unpacks and installs with
//! one command (`install.sh`), with nothing to compile, no Node.js and no network.
//!
//! `target/dist/ocomms-<version>-linux-x86_64.tar.gz` holds `ocomms-<version>/` with the
//! host binary, spin.toml pointing at the bundled component, the edge Worker bundle, the
//! SQL migrations, the systemd unit and reverse-proxy examples, `install.sh`, a README, the
//! licence texts of every bundled third-party package, and `SHA256SUMS` over every file
//! (the host checks the files it loads against it when it starts).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Options, build, run, step};

/// Where the tarballs go.
pub const DIST_DIR: &str = "target/dist";
/// The platform the host binary is built for (the tarball's name says it).
const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// Builds what the bundle holds, then writes the tarball.
pub fn dist(opts: &Options, args: &[String]) -> Result<()> {
    let mut release = true;
    for arg in args {
        match arg.as_str() {
            "--debug" => release = false,
            other => bail!("unknown dist option {other:?}: use --debug to bundle the debug host"),
        }
    }
    build::component(opts)?;
    build::edge(opts)?;
    build::web()?;
    build::host(release || opts.release)?;
    let profile = if release || opts.release { "release" } else { "debug" };
    let tarball = step("write the release bundle", || write_bundle(&root(), profile))?;
    let size = std::fs::metadata(&tarball)?.len();
    println!("    {} ({:.1} MiB)", tarball.display(), size as f64 / (1024.0 * 1024.0));
    Ok(())
}

/// The debug bundle for the tests, from what `test` has just built (timed as a step).
pub fn debug_bundle() -> Result<()> {
    let tarball =
        step("release bundle with the debug host (cargo xtask dist --debug)", || write_bundle(&root(), "debug"))?;
    println!("    {}", tarball.display());
    Ok(())
}

fn root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// The workspace version (`[workspace.package] version`), which names the bundle.
pub fn workspace_version(root: &Path) -> Result<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).context("read Cargo.toml")?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(v) = line.strip_prefix("version") {
            let v = v.trim_start().trim_start_matches('=').trim().trim_matches('"');
            return Ok(v.to_string());
        }
    }
    bail!("Cargo.toml has no [workspace.package] version")
}

/// The host binary of `profile`: `ocomms`.
fn host_binary(root: &Path, profile: &str) -> Result<PathBuf> {
    let bin = root.join("target").join(profile).join("ocomms");
    if bin.is_file() {
        return Ok(bin);
    }
    bail!("{} is missing: the host build did not produce it", bin.display())
}

/// Stages `ocomms-<version>/` under target/dist, checksums it and packs it.
fn write_bundle(root: &Path, profile: &str) -> Result<PathBuf> {
    let version = workspace_version(root)?;
    let name = format!("ocomms-{version}");
    let dist = root.join(DIST_DIR);
    let top = dist.join(&name);
    if top.exists() {
        std::fs::remove_dir_all(&top).with_context(|| format!("remove {}", top.display()))?;
    }
    std::fs::create_dir_all(&top)?;

    copy(&host_binary(root, profile)?, &top.join("bin/ocomms"), 0o755)?;
    let manifest = std::fs::read_to_string(root.join("spin.toml")).context("read spin.toml")?;
    let (manifest, sources) = bundle_manifest(&manifest);
    for (from, to) in &sources {
        copy(&root.join(from), &top.join(to), 0o644)?;
    }
    std::fs::write(top.join("spin.toml"), manifest)?;

    let edge = top.join("edge");
    for file in ["worker.mjs", "index_bg.wasm"] {
        copy(&root.join(crate::edge::DIST).join(file), &edge.join("dist").join(file), 0o644)?;
    }
    let wrangler = std::fs::read_to_string(root.join("edge-gateway/wrangler.toml"))?;
    std::fs::write(edge.join("wrangler.toml"), bundle_wrangler(&wrangler))?;
    copy(&root.join("infra/bundle/edge-README"), &edge.join("README"), 0o644)?;

    let mut migrations: Vec<PathBuf> =
        std::fs::read_dir(root.join("migrations/sql"))?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    migrations.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    migrations.sort();
    for sql in &migrations {
        let file = sql.file_name().context("migration file name")?;
        copy(sql, &top.join("migrations").join(file), 0o644)?;
    }

    copy(&root.join("infra/ocomms.service"), &top.join("systemd/ocomms.service"), 0o644)?;
    copy(&root.join("infra/nginx.conf"), &top.join("nginx/ocomms.conf"), 0o644)?;
    copy(&root.join("infra/Caddyfile"), &top.join("caddy/Caddyfile"), 0o644)?;
    copy(&root.join("infra/install.sh"), &top.join("install.sh"), 0o755)?;
    let readme = std::fs::read_to_string(root.join("infra/bundle/README"))?.replace("@VERSION@", &version);
    std::fs::write(top.join("README"), readme)?;
    std::fs::write(top.join("THIRD-PARTY-LICENSES"), third_party_licenses(root)?)?;

    let sums = checksums(&top)?;
    std::fs::write(top.join("SHA256SUMS"), sums)?;

    let tarball = dist.join(format!("{name}-linux-x86_64.tar.gz"));
    // Reproducible: names sorted, owner root, one timestamp (SOURCE_DATE_EPOCH if set).
    let mtime = std::env::var("SOURCE_DATE_EPOCH").unwrap_or_else(|_| "0".into());
    run(Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{mtime}"))
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dist)
        .arg(&name))?;
    std::fs::remove_dir_all(&top)?;
    Ok(tarball)
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(to.parent().context("a destination directory")?)?;
    std::fs::copy(from, to).with_context(|| format!("copy {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// spin.toml for the bundle: every `source = "target/components/X.wasm"` becomes
/// `components/X.wasm` (relative to the manifest, as the host resolves it), and the
/// `[component.*.build]` tables go (they name the project's build, which the bundle has
/// not). Returns the text and each (repository path, bundle path) to copy.
pub fn bundle_manifest(text: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::with_capacity(text.len());
    let mut sources = Vec::new();
    let mut in_build = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_build = trimmed.starts_with("[component.") && trimmed.ends_with(".build]");
        }
        if in_build {
            continue;
        }
        let source = trimmed
            .strip_prefix("source")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"')?.strip_suffix('"'));
        match source {
            Some(path) => {
                let file = Path::new(path).file_name().map_or(path.into(), |f| f.to_string_lossy());
                let to = format!("components/{file}");
                out.push_str(&format!("source = \"{to}\"\n"));
                sources.push((path.to_string(), to));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    // A trailing empty line left where a build table was removed.
    while out.ends_with("\n\n") {
        out.pop();
    }
    (out, sources)
}

/// The Worker's wrangler.toml for the bundle: its `main` is the bundled `dist/worker.mjs`.
fn bundle_wrangler(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("main = ") {
            out.push_str("main = \"dist/worker.mjs\"\n");
        } else if line.contains("Build the bundle first") {
            out.push_str("# The bundle is built: dist/ holds worker.mjs and index_bg.wasm.\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `sha256sum` lines (`<hex>  <path>`) for every file under `top`, paths relative to it,
/// sorted.
pub fn checksums(top: &Path) -> Result<String> {
    let mut files = Vec::new();
    walk(top, &mut files)?;
    files.sort();
    let mut out = String::new();
    for file in files {
        let rel = file.strip_prefix(top)?.to_string_lossy().into_owned();
        if rel == "SHA256SUMS" {
            continue;
        }
        let digest = Sha256::digest(std::fs::read(&file).with_context(|| format!("read {}", file.display()))?);
        writeln!(out, "{}  {rel}", hex(&digest))?;
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() { walk(&path, out)? } else { out.push(path) }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Third-party licences
// ---------------------------------------------------------------------------------------

/// One bundled third-party package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Package {
    /// `crate` or `npm`.
    ecosystem: &'static str,
    name: String,
    version: String,
    /// The SPDX expression its metadata declares.
    license: String,
    /// Its licence files' texts (LICENSE*, LICENCE*, COPYING*, NOTICE*), sorted by name.
    texts: Vec<(String, String)>,
}

/// THIRD-PARTY-LICENSES: every package compiled or bundled into what ships (the host, the
/// component, the Worker, the web client), then each distinct licence text once with the
/// packages it comes from (identical texts, copyright lines included, are printed once).
fn third_party_licenses(root: &Path) -> Result<String> {
    let mut packages = BTreeSet::new();
    for (package, triple) in
        [("wasm-host", HOST_TRIPLE), ("ocomms-component", build::COMPONENT_TARGET), ("ocomms-edge", build::EDGE_TARGET)]
    {
        packages.extend(crates_compiled_into(root, package, triple)?);
    }
    for dir in ["web", "edge-gateway"] {
        packages.extend(npm_production_packages(&root.join(dir))?);
    }
    Ok(render_licenses(&packages))
}

fn render_licenses(packages: &BTreeSet<Package>) -> String {
    let mut out = String::from(
        "Third-party software bundled with OComms\n\
         ========================================\n\n\
         OComms itself is licensed under Apache-2.0. The host binary, the WebAssembly\n\
         component, the edge Worker and the web client (embedded in the host) contain the\n\
         packages below; each licence text follows, once, with the packages it covers.\n\n",
    );
    let mut by_text: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut without_file = Vec::new();
    for p in packages {
        let id = format!("{} {} {} ({})", p.ecosystem, p.name, p.version, p.license);
        writeln!(out, "  {id}").ok();
        if p.texts.is_empty() {
            without_file.push(id);
        }
        for (file, text) in &p.texts {
            by_text.entry(text.as_str()).or_default().push(format!("{} {} ({file})", p.name, p.version));
        }
    }
    if !without_file.is_empty() {
        out.push_str(
            "\nThese packages ship no licence file; the licence their metadata names applies, in\n\
             its standard text (https://spdx.org/licenses/):\n",
        );
        for id in &without_file {
            writeln!(out, "  {id}").ok();
        }
    }
    for (text, users) in by_text {
        out.push_str("\n\n");
        out.push_str(&"-".repeat(88));
        out.push_str("\nUsed by: ");
        out.push_str(&users.join(", "));
        out.push_str("\n\n");
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The third-party crates compiled into `package` built for `triple`: its normal and build
/// dependencies, transitively, in `cargo metadata`'s resolve graph for that platform
/// (features as the workspace resolves them, so possibly a few more than one build uses).
fn crates_compiled_into(root: &Path, package: &str, triple: &str) -> Result<Vec<Package>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", triple])
        .current_dir(root)
        .output()
        .context("run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("parse cargo metadata")?;
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .context("metadata packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .context("metadata resolve nodes")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let start = packages
        .iter()
        .find(|(_, p)| p["name"] == package && p["source"].is_null())
        .map(|(id, _)| *id)
        .with_context(|| format!("{package} is not in the workspace"))?;
    let mut seen = BTreeSet::from([start]);
    let mut queue = vec![start];
    while let Some(id) = queue.pop() {
        for dep in nodes.get(id).and_then(|n| n["deps"].as_array()).into_iter().flatten() {
            let kinds = dep["dep_kinds"].as_array().into_iter().flatten();
            let shipped = kinds.clone().any(|k| k["kind"].is_null() || k["kind"] == "build");
            if let Some(pkg) = dep["pkg"].as_str()
                && shipped
                && seen.insert(pkg)
            {
                queue.push(pkg);
            }
        }
    }
    let mut found = Vec::new();
    for id in seen {
        let p = packages.get(id).with_context(|| format!("no package {id}"))?;
        if p["source"].is_null() {
            continue; // ours
        }
        let dir = Path::new(p["manifest_path"].as_str().context("manifest_path")?)
            .parent()
            .context("crate directory")?
            .to_path_buf();
        let mut texts = license_texts(&dir)?;
        if let Some(file) = p["license_file"].as_str() {
            let path = dir.join(file);
            if let Ok(text) = std::fs::read_to_string(&path)
                && !texts.iter().any(|(_, t)| *t == text)
            {
                texts.push((file.to_string(), text));
            }
        }
        found.push(Package {
            ecosystem: "crate",
            name: p["name"].as_str().unwrap_or_default().to_string(),
            version: p["version"].as_str().unwrap_or_default().to_string(),
            license: p["license"].as_str().unwrap_or("see its licence file").to_string(),
            texts,
        });
    }
    Ok(found)
}

/// Whether a file name is a licence or notice file.
fn is_license_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "NOTICE", "UNLICENSE"].iter().any(|p| upper.starts_with(p))
}

/// The licence files in `dir` (and in a `LICENSES/` directory there), as (name, text).
fn license_texts(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut texts = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(texts) };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !is_license_file(&name) {
            continue;
        }
        if path.is_dir() {
            for (inner, text) in license_texts_all(&path)? {
                texts.push((format!("{name}/{inner}"), text));
            }
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            texts.push((name, text));
        }
    }
    Ok(texts)
}

/// Every text file in a licences directory.
fn license_texts_all(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if let (Some(name), Ok(text)) = (path.file_name(), std::fs::read_to_string(&path)) {
            out.push((name.to_string_lossy().into_owned(), text));
        }
    }
    Ok(out)
}

/// The production (non-dev) packages of an npm project, from its package-lock.json, with
/// the licence files of their installed copies (`npm ci` has run: the build needs it).
fn npm_production_packages(dir: &Path) -> Result<Vec<Package>> {
    let lock = dir.join("package-lock.json");
    let text = std::fs::read_to_string(&lock).with_context(|| format!("read {}", lock.display()))?;
    let lock: Value = serde_json::from_str(&text).with_context(|| format!("parse {}", dir.display()))?;
    let mut found = Vec::new();
    for (path, entry) in lock["packages"].as_object().into_iter().flatten() {
        let Some(name) = path.rsplit_once("node_modules/").map(|(_, n)| n) else { continue };
        if entry["dev"] == true || entry["devOptional"] == true {
            continue;
        }
        let installed = dir.join(path);
        if !installed.is_dir() && entry["optional"] == true {
            continue; // another platform's package
        }
        if !installed.is_dir() {
            bail!("{} is missing: run `npm ci` in {}", installed.display(), dir.display());
        }
        found.push(Package {
            ecosystem: "npm",
            name: name.to_string(),
            version: entry["version"].as_str().unwrap_or_default().to_string(),
            license: entry["license"].as_str().unwrap_or("see its licence file").to_string(),
            texts: license_texts(&installed)?,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_sources_point_into_the_bundle_and_build_tables_go() {
        let text = "[component.api]\nsource = \"target/components/ocomms_component.wasm\"\nx = 1\n\n\
                    [component.api.build]\ncommand = \"cargo xtask build component\"\n";
        let (out, sources) = bundle_manifest(text);
        assert_eq!(out, "[component.api]\nsource = \"components/ocomms_component.wasm\"\nx = 1\n");
        assert_eq!(
            sources,
            vec![("target/components/ocomms_component.wasm".into(), "components/ocomms_component.wasm".into())]
        );
    }

    #[test]
    fn the_repository_manifest_keeps_its_other_tables() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf();
        let text = std::fs::read_to_string(root.join("spin.toml")).unwrap_or_default();
        let (out, sources) = bundle_manifest(&text);
        assert!(!sources.is_empty());
        assert!(out.contains("[variables]") && out.contains("[[trigger.http]]"));
        assert!(!out.contains("target/") && !out.contains(".build]"));
    }

    #[test]
    fn version_comes_from_the_workspace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let v = workspace_version(root).unwrap_or_default();
        assert!(v.split('.').count() == 3, "{v:?}");
    }

    #[test]
    fn licence_file_names() {
        for name in ["LICENSE", "LICENSE-MIT", "license.txt", "COPYING", "LICENCE-APACHE", "NOTICE"] {
            assert!(is_license_file(name), "{name}");
        }
        assert!(!is_license_file("README.md") && !is_license_file("Cargo.toml"));
    }

    #[test]
    fn identical_texts_are_printed_once() {
        let p = |name: &str| Package {
            ecosystem: "crate",
            name: name.into(),
            version: "1.0.0".into(),
            license: "MIT".into(),
            texts: vec![("LICENSE".into(), "MIT text".into())],
        };
        let out = render_licenses(&BTreeSet::from([p("a"), p("b")]));
        assert_eq!(out.matches("MIT text").count(), 1);
        assert!(out.contains("Used by: a 1.0.0 (LICENSE), b 1.0.0 (LICENSE)"));
    }
}
