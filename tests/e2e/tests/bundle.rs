//! The release bundle (`cargo xtask dist --debug`) as an operator uses it: unpack, check,
//! `install.sh`, use the installed service, install again, upgrade, damage it, uninstall. Also: the
//! deployment files name only settings the binary accepts.
//!
//! The installed service runs under the bundle's supervisor (`ocommsctl`, start-stop-daemon),
//! as it does wherever systemd is not running, with its managed PostgreSQL in the install's
//! data directory. A guard stops it if the test fails halfway.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{PASSWORD, free_port, unique_temp_dir, workspace_root};

/// `target/dist/ocomms-<version>-linux-x86_64.tar.gz`, or a panic saying how to build it.
fn tarball() -> PathBuf {
    let version = env!("CARGO_PKG_VERSION");
    let path = workspace_root().join("target/dist").join(format!("ocomms-{version}-linux-x86_64.tar.gz"));
    assert!(path.is_file(), "the bundle {} is missing: run `cargo xtask dist --debug`", path.display());
    // Edited deployment files make the bundle stale (a rebuilt binary need not: cargo may
    // relink it without a change).
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap();
    for source in ["infra/install.sh", "infra/ocomms.service", "infra/bundle/README", "spin.toml"] {
        let edited = std::fs::metadata(workspace_root().join(source)).and_then(|m| m.modified()).unwrap();
        assert!(edited <= built, "{source} is newer than {}: run `cargo xtask dist --debug`", path.display());
    }
    path
}

/// The debug `ocomms` binary (for its `--help`), or a panic saying how to build it.
fn ocomms_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let bin = target.join("debug/ocomms");
    assert!(bin.is_file(), "{} is missing: run `cargo build -p wasm-host`", bin.display());
    bin
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn current_user() -> String {
    String::from_utf8_lossy(&run(Command::new("id").arg("-un")).stdout).trim().to_string()
}

/// An install under `root` (`install.sh --root`), and the service it runs.
struct Install {
    bundle: PathBuf,
    root: PathBuf,
    user: String,
    listen: String,
}

impl Install {
    /// Runs the bundle's install.sh with `extra` options. Its output goes to a file, not a
    /// pipe: the service it starts must not hold our pipe open.
    fn install_sh(&self, extra: &[&str]) -> (bool, String) {
        let log = self.root.with_extension(format!("install-{}.log", free_port()));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(self.bundle.join("install.sh"));
        cmd.arg("--root").arg(&self.root).args(["--user", &self.user, "--listen", &self.listen]).args(extra);
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
                cmd.env_remove(&name);
            }
        }
        let status = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .unwrap_or_else(|e| panic!("run install.sh: {e}"));
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        println!("--- install.sh {extra:?} ({status}):\n{out}");
        (status.success(), out)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn ctl(&self, what: &str) -> Output {
        run(Command::new(self.path("opt/ocomms/bin/ocommsctl")).arg(what))
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.path("run/ocomms/ocomms.pid")).ok().map(|s| s.trim().to_string())
    }

    fn running(&self) -> bool {
        self.ctl("status").status.success()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("var/log/ocomms/ocomms.log")).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        if self.path("opt/ocomms/bin/ocommsctl").exists() {
            let _ = self.ctl("stop");
        }
    }
}

async fn call(req: reqwest::RequestBuilder, what: &str) -> (u16, Value) {
    let resp = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Signs up through the mailed link (no mail server: the service logs it), makes a
/// workspace and posts; returns the access token, the channel and the text posted.
async fn sign_up_and_post(install: &Install, http: &reqwest::Client) -> (String, String, String) {
    let email = "owner@bundle.test";
    let (status, body) = call(
        http.post(install.url("/api/v1/auth/signup"))
            .json(&json!({ "email": email, "password": PASSWORD, "display_name": "Owner" })),
        "sign up",
    )
    .await;
    assert_eq!(status, 202, "sign-up waits for the mailed link: {body}");
    let started = Instant::now();
    let token = loop {
        let log = install.log();
        if let Some(at) = log.find("/verify-email#token=") {
            let rest = &log[at + "/verify-email#token=".len()..];
            break rest.chars().take_while(|c| c.is_ascii_alphanumeric() || "-_.~%".contains(*c)).collect::<String>();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no sign-up link in the service's log:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (status, body) =
        call(http.post(install.url("/api/v1/auth/verify-email")).json(&json!({ "token": token })), "verify").await;
    assert_eq!(status, 201, "the link creates the account: {body}");
    let access = body["tokens"]["access_token"].as_str().unwrap().to_string();
    let (status, body) = call(
        http.post(install.url("/api/v1/workspaces")).bearer_auth(&access).json(&json!({ "name": "Acme" })),
        "workspace",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let channel = body["default_channel_id"].as_str().unwrap().to_string();
    let text = "hello from the installed bundle".to_string();
    let (status, body) = call(
        http.post(install.url(&format!("/api/v1/channels/{channel}/messages")))
            .bearer_auth(&access)
            .json(&json!({ "text": text })),
        "post",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (access, channel, text)
}

async fn history(install: &Install, http: &reqwest::Client, access: &str, channel: &str) -> Vec<String> {
    history_at(&install.url(""), http, access, channel).await
}

/// The channel's texts from the server at `base` (`http://host:port`).
async fn history_at(base: &str, http: &reqwest::Client, access: &str, channel: &str) -> Vec<String> {
    let (status, body) =
        call(http.get(format!("{base}/api/v1/channels/{channel}/messages?limit=50")).bearer_auth(access), "history")
            .await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str().map(str::to_string)).collect()
}

async fn ready(install: &Install, http: &reqwest::Client) -> bool {
    http.get(install.url("/readyz")).send().await.is_ok_and(|r| r.status().is_success())
}

/// The installed wrapper's `backup` while a client keeps posting, then the bundle's own
/// binary restores the archive into a new directory and serves it: the same account, the
/// same token (secrets included) and a gap-free prefix of what was posted. (backup.rs
/// compares every row and file; this is the operator's path through the installed bundle.)
async fn backup_while_posting_then_restore(install: &Install, http: &reqwest::Client, access: &str, channel: &str) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poster = {
        let (http, stop) = (http.clone(), stop.clone());
        let (url, access) = (install.url(&format!("/api/v1/channels/{channel}/messages")), access.to_string());
        tokio::spawn(async move {
            let mut sent = 0;
            // Within the posting limit (30 per 10 s, one already used).
            while sent < 25 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = json!({ "text": format!("during backup {sent}") });
                let (status, body) = call(http.post(&url).bearer_auth(&access).json(&body), "post").await;
                assert_eq!(status, 201, "{body}");
                sent += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            sent
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let archive = install.root.join("backup.ocomms");
    let mut backup = Command::new(install.path("opt/ocomms/bin/ocomms-run"));
    clean_env(&mut backup);
    let out = run(backup.args(["backup", "--include-secrets", "--output"]).arg(&archive));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = poster.await.unwrap();
    assert!(out.status.success(), "ocomms-run backup: {}", text(&out));
    let source = history(install, http, access, channel).await;
    assert_eq!(source.len(), 1 + sent, "{source:?}");

    let restored_dir = install.root.join("restored");
    let out = run(Command::new(install.bundle.join("bin/ocomms"))
        .args(["restore", "--input"])
        .arg(&archive)
        .arg("--data-dir")
        .arg(&restored_dir));
    assert!(out.status.success(), "restore: {}", text(&out));
    let listen = format!("127.0.0.1:{}", free_port());
    let mut serve = Command::new(install.bundle.join("bin/ocomms"));
    clean_env(&mut serve);
    let log = std::fs::File::create(install.root.join("restored.log")).unwrap();
    let mut child = serve
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(&restored_dir)
        .arg("--manifest")
        .arg(install.bundle.join("spin.toml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    let started = Instant::now();
    while !http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the restored install did not serve");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let texts = history_at(&base, http, access, channel).await;
    // SIGTERM stops the managed PostgreSQL with the server.
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(texts.iter().all(|t| source.contains(t)), "restored {texts:?}\nsource {source:?}");
    assert!(texts.contains(&"hello from the installed bundle".to_string()));
    let mut during: Vec<usize> =
        texts.iter().filter_map(|t| t.strip_prefix("during backup ")).map(|n| n.parse().unwrap()).collect();
    during.sort_unstable();
    assert_eq!(during, (0..during.len()).collect::<Vec<_>>(), "a gap-free prefix of the posts");
    println!("bundle: backup during {sent} posts held {} of them", during.len());
}

fn clean_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
            cmd.env_remove(&name);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unpack_install_use_reinstall_upgrade_damage_uninstall() {
    let tarball = tarball();
    let dir = unique_temp_dir();
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();

    let started = Instant::now();
    let out = run(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked));
    assert!(out.status.success(), "unpack: {}", text(&out));
    let tops: Vec<PathBuf> = std::fs::read_dir(&unpacked).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(tops.len(), 1, "one top directory: {tops:?}");
    let bundle = tops[0].clone();
    assert_eq!(bundle.file_name().unwrap().to_string_lossy(), format!("ocomms-{}", env!("CARGO_PKG_VERSION")));
    let out = run(Command::new("sha256sum").args(["-c", "--strict", "SHA256SUMS"]).current_dir(&bundle));
    assert!(out.status.success(), "SHA256SUMS: {}", text(&out));
    for file in [
        "bin/ocomms",
        "spin.toml",
        "components/ocomms_component.wasm",
        "install.sh",
        "README",
        "systemd/ocomms.service",
        "nginx/ocomms.conf",
        "caddy/Caddyfile",
        "edge/dist/worker.mjs",
        "edge/dist/index_bg.wasm",
        "edge/wrangler.toml",
        "migrations/0001_init.sql",
    ] {
        assert!(bundle.join(file).is_file(), "the bundle lacks {file}");
    }
    // Licences of what runs: the host's engine, the component's SDK, the Worker's, the web
    // client's React.
    let licences = std::fs::read_to_string(bundle.join("THIRD-PARTY-LICENSES")).unwrap();
    for package in ["crate wasmtime ", "crate spin-sdk ", "crate worker ", "npm react "] {
        assert!(licences.contains(package), "THIRD-PARTY-LICENSES lacks {package}");
    }

    let mut install = Install {
        bundle: bundle.clone(),
        root: dir.join("root"),
        user: current_user(),
        listen: format!("127.0.0.1:{}", free_port()),
    };
    let (ok, out) = install.install_sh(&[]);
    assert!(ok, "install.sh failed:\n{out}\nservice log:\n{}", install.log());
    let http = reqwest::Client::new();
    assert!(ready(&install, &http).await, "not serving after install.sh:\n{}", install.log());
    println!("bundle: unpack to serving took {:.1}s", started.elapsed().as_secs_f64());
    assert!(out.contains("ocomms-admin create-user --email"), "install.sh says how to make the first admin:\n{out}");
    let env_file = install.path("etc/ocomms/ocomms.env");
    let env_before = std::fs::read_to_string(&env_file).unwrap();
    assert!(env_before.contains(&format!("OCOMMS_LISTEN={}", install.listen)), "{env_before}");

    let (access, channel, posted) = sign_up_and_post(&install, &http).await;
    assert_eq!(history(&install, &http, &access, &channel).await, vec![posted.clone()]);
    // The operator's wrapper reaches the running service's database with the install's settings.
    let mut admin = Command::new(install.path("opt/ocomms/bin/ocomms-admin"));
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
            admin.env_remove(&name);
        }
    }
    let out = run(admin.args(["list-users", "--json"]));
    assert!(
        out.status.success() && text(&out).contains("owner@bundle.test"),
        "ocomms-admin list-users: {}",
        text(&out)
    );

    backup_while_posting_then_restore(&install, &http, &access, &channel).await;
    let posted = history(&install, &http, &access, &channel).await;

    // Again: nothing changes, the same process serves the same data.
    let pid = install.pid();
    let (ok, out) = install.install_sh(&[]);
    assert!(ok, "second install.sh failed:\n{out}");
    assert!(out.contains("up to date") && out.contains("keeping"), "{out}");
    assert_eq!(install.pid(), pid, "the second run restarted the service");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), env_before);
    assert_eq!(history(&install, &http, &access, &channel).await, posted);

    // A newer bundle (here: one with another README, checksummed again) over this install:
    // the program is replaced and the service restarted; configuration and data stay.
    let newer = dir.join("newer");
    let out = run(Command::new("cp").arg("-a").arg(&bundle).arg(&newer));
    assert!(out.status.success(), "{}", text(&out));
    let mut readme = std::fs::read_to_string(newer.join("README")).unwrap();
    readme.push_str("\nThis is the newer release.\n");
    std::fs::write(newer.join("README"), readme).unwrap();
    let out = run(Command::new("sh")
        .arg("-c")
        .arg("find . -type f ! -name SHA256SUMS | sed 's|^./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS")
        .current_dir(&newer));
    assert!(out.status.success(), "{}", text(&out));
    install.bundle = newer;
    let (ok, out) = install.install_sh(&[]);
    assert!(ok, "upgrade failed:\n{out}\n{}", install.log());
    assert!(out.contains("replacing it"), "{out}");
    assert_ne!(install.pid(), pid, "the upgrade did not restart the service");
    let installed = std::fs::read_to_string(install.path("opt/ocomms/README")).unwrap();
    assert!(installed.contains("newer release"), "the program was not replaced");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), env_before);
    assert_eq!(history(&install, &http, &access, &channel).await, posted);

    // One byte of the installed component changed: the service refuses to start.
    let wasm = install.path("opt/ocomms/components/ocomms_component.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&wasm, bytes).unwrap();
    let out = install.ctl("restart");
    assert!(out.status.success(), "ocommsctl restart: {}", text(&out));
    let waited = Instant::now();
    while install.running() {
        assert!(waited.elapsed() < Duration::from_secs(60), "the damaged install still runs:\n{}", install.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = install.log();
    assert!(
        log.contains("refusing to start") && log.contains("components/ocomms_component.wasm does not match"),
        "no checksum message in the log:\n{log}"
    );
    assert!(!ready(&install, &http).await);

    // install.sh repairs it, and the data is still there.
    let (ok, out) = install.install_sh(&[]);
    assert!(ok, "repairing install.sh failed:\n{out}\n{}", install.log());
    assert!(out.contains("installed"), "{out}");
    assert_eq!(history(&install, &http, &access, &channel).await, posted);

    // --uninstall keeps configuration and data; --purge removes them.
    let (ok, out) = install.install_sh(&["--uninstall"]);
    assert!(ok, "{out}");
    assert!(!install.path("opt/ocomms").exists(), "the program stays after --uninstall");
    assert!(!ready(&install, &http).await, "still serving after --uninstall");
    assert!(env_file.is_file() && install.path("var/lib/ocomms/pg/PG_VERSION").is_file(), "data or config gone");
    let (ok, out) = install.install_sh(&["--uninstall", "--purge"]);
    assert!(ok, "{out}");
    assert!(!env_file.exists() && !install.path("var/lib/ocomms").exists(), "--purge left data or config");

    if std::env::var_os("OCOMMS_E2E_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Every `--flag` and `OCOMMS_*` variable the deployment files and install.sh name is one the
/// binary accepts (its commands' `--help`), or
/// install.sh's own option, or one of the few flags of other programs the files show.
#[test]
fn deployment_files_name_only_accepted_settings() {
    let bin = ocomms_binary();
    let root = workspace_root();
    let mut accepted = BTreeSet::new();
    let mut help_text = String::new();
    for sub in [
        &["serve"][..],
        &["migrate"],
        &["reindex"],
        &["mailer"],
        &["files"],
        &["backup"],
        &["restore"],
        &["admin", "create-user"],
    ] {
        let out = run(Command::new(&bin).args(sub).arg("--help"));
        if out.status.success() {
            help_text.push_str(&text(&out));
        }
    }
    assert!(help_text.contains("OCOMMS_LISTEN"), "`ocomms serve --help` names no OCOMMS_LISTEN:\n{help_text}");
    accepted.extend(flags(&help_text));
    accepted.extend(variables(&help_text));
    let install_sh = std::fs::read_to_string(root.join("infra/install.sh")).unwrap();
    let usage = install_sh.split("usage: ./install.sh").nth(1).and_then(|u| u.split("\nEOF").next()).unwrap();
    accepted.extend(flags(usage));
    // Variables the binary reads outside clap (logging: OCOMMS_LOG, OCOMMS_LOG_FORMAT), as
    // its top-level help names them.
    let top = text(&run(Command::new(&bin).arg("--help")));
    assert!(top.contains("OCOMMS_LOG_FORMAT"), "`ocomms --help` names the logging variables:\n{top}");
    accepted.extend(variables(&top));
    // Other programs' flags in the files: systemctl, cargo, valkey-server, wrangler.
    for foreign in ["--now", "--release", "--save", "--appendonly", "--connection-string", "--help"] {
        accepted.insert(foreign.to_string());
    }

    let mut files = vec![root.join("infra/install.sh")];
    collect(&root.join("infra"), &mut files);
    let mut unknown = Vec::new();
    for file in files {
        let body = std::fs::read_to_string(&file).unwrap_or_default();
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        // install.sh's own commands (tar, sha256sum, useradd, start-stop-daemon, setpriv)
        // are not checked; the lines that run the binary and the settings it writes are.
        let checked: String = if name.ends_with("install.sh") {
            let runs_binary =
                |l: &&str| ["$BIN", "bin/ocomms ", "ocomms-admin ", "ocomms serve"].iter().any(|p| l.contains(p));
            body.lines().filter(runs_binary).collect::<Vec<_>>().join("\n")
        } else {
            body.clone()
        };
        for flag in flags(&checked) {
            let system_tool = name.ends_with("install.sh") && is_system_tool_flag(&flag);
            if !accepted.contains(&flag) && !system_tool {
                unknown.push(format!("{name}: {flag}"));
            }
        }
        for var in variables(&body) {
            if !accepted.contains(&var) {
                unknown.push(format!("{name}: {var}"));
            }
        }
    }
    assert!(unknown.is_empty(), "settings the binary does not accept:\n{}", unknown.join("\n"));
}

/// Flags of the system tools install.sh runs on the same lines as the binary's path.
fn is_system_tool_flag(flag: &str) -> bool {
    ["--reuid", "--regid", "--init-groups", "--start", "--background", "--make-pidfile", "--pidfile", "--chuid"]
        .contains(&flag)
        || flag.starts_with("--startas")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if !path.ends_with("install.sh") {
            out.push(path);
        }
    }
}

/// `--word-word` tokens (not `---`, not inside a longer word).
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let before_ok = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'-');
        let name: String = text[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        if before_ok && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.insert(format!("--{}", name.trim_end_matches('-')));
        }
        i = start + 2 + name.len();
    }
    out
}

/// `OCOMMS_NAME` tokens.
fn variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("OCOMMS_") {
        let name: String =
            rest[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        let name = name.trim_end_matches('_').to_string();
        if name.len() > "OCOMMS_".len() {
            out.insert(name);
        }
        rest = &rest[at + "OCOMMS_".len()..];
    }
    out
}

#[test]
fn tokens_are_read_from_text() {
    let t = "ExecStart=/opt/ocomms/bin/ocomms serve --listen 1 --data-dir=x -- --- a--b OCOMMS_LISTEN=1 $OCOMMS_X_Y_";
    assert_eq!(flags(t), BTreeSet::from(["--listen".to_string(), "--data-dir".to_string()]));
    assert_eq!(variables(t), BTreeSet::from(["OCOMMS_LISTEN".to_string(), "OCOMMS_X_Y".to_string()]));
}
