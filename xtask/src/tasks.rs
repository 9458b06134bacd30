//! The user-facing tasks: run the product, run the tests, run CI.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{Options, build, run as run_cmd, step, system};

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Builds everything and starts the host in the foreground.
pub fn run(opts: &Options, extra: &[String]) -> Result<()> {
    system::ensure_postgres()?;
    // What the host serves; the edge worker is not part of it (`build edge` builds that).
    build::component(opts)?;
    build::web()?;
    build::host(opts.release)?;
    let profile = if opts.release { "release" } else { "debug" };
    let host = std::env::current_dir()?.join("target").join(profile).join("ocomms");
    println!("==> starting {} (Ctrl-C stops it)", host.display());
    let status = Command::new(&host).args(extra).status().with_context(|| format!("start {}", host.display()))?;
    if !status.success() {
        bail!("the host exited with {status}");
    }
    Ok(())
}

/// Builds every target, then runs every test, and closes with one summary line.
pub fn test(opts: &Options, extra: &[String]) -> Result<()> {
    let started = Instant::now();
    step("check system packages", system::ensure_postgres)?;
    build::components_with_fixtures(opts)?;
    build::edge(opts)?;
    build::web()?;
    build::native_workspace()?;
    // The bundle the install test (tests/e2e/tests/bundle.rs) unpacks and installs.
    crate::dist::debug_bundle()?;
    let moto =
        step("moto (an independent S3 server for the file suite)", || crate::moto::server(&std::env::current_dir()?))?;
    let slack =
        step("Slack's SDKs (Python slack-sdk, Node @slack/*)", || crate::slack::install(&std::env::current_dir()?))?;
    let smtp = step("aiosmtpd (a real SMTP server for the account-mail suite)", || {
        crate::mail::install(&std::env::current_dir()?)
    })?;
    let oidc = step("oidc-provider (a real OpenID Provider for the sign-on suite)", || {
        crate::oidc::install(&std::env::current_dir()?)
    })?;
    step("redis-server, PgBouncer and HAProxy (for the cluster suite)", || {
        system::ensure_relay_server()?;
        system::ensure_pgbouncer()?;
        system::ensure_haproxy()
    })?;
    let env = [
        ("OCOMMS_SMTP_PYTHON", smtp.as_path()),
        ("OCOMMS_MOTO_SERVER", moto.as_path()),
        ("OCOMMS_SLACK_PYTHON", slack.python.as_path()),
        ("OCOMMS_SLACK_NODE", slack.node.as_path()),
        ("OCOMMS_OIDC_NODE", oidc.as_path()),
    ];
    let mut counts = step("cargo test --workspace", || cargo_test(extra, &env))?;
    if extra.is_empty() {
        for (name, run) in [
            ("web unit tests (vitest)", web_unit_tests as fn() -> Result<Counts>),
            ("browser tests (web/e2e: Chromium against the real host)", browser_tests),
        ] {
            let more = step(name, run)?;
            counts.add(more);
        }
        let api = step("OpenAPI fuzzing (Schemathesis against the real host)", crate::openapi_fuzz::run)?;
        counts.add(Counts { passed: api.passed, failed: api.failed, ignored: api.skipped, failures: api.failures });
        crate::fuzz::smoke()?;
    } else {
        println!("(browser tests skipped: cargo test arguments were given)");
    }
    println!("\nall phases took {:.1}s", started.elapsed().as_secs_f64());
    println!("tests: {} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.ignored);
    counts.print_failures();
    if counts.failed > 0 {
        bail!("{} tests failed", counts.failed);
    }
    if counts.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// The web client alone: its unit tests, then the browser suite against a fresh host.
pub fn test_web(opts: &Options) -> Result<()> {
    step("check system packages", system::ensure_postgres)?;
    build::component(opts)?;
    build::web()?;
    build::host(false)?;
    let unit = step("web unit tests (vitest)", web_unit_tests)?;
    let browser = step("browser tests (web/e2e: Chromium against the real host)", browser_tests)?;
    let mut counts = unit;
    counts.add(browser);
    let failed = counts.failed;
    println!("web tests: {} passed, {failed} failed, {} skipped", counts.passed, counts.ignored);
    counts.print_failures();
    if failed > 0 {
        bail!("{failed} web tests failed");
    }
    Ok(())
}

/// What CI runs: formatting, lints, then the README's test command.
pub fn ci(opts: &Options) -> Result<()> {
    step("cargo fmt --check", || run_cmd(cargo().args(["fmt", "--all", "--check"])))?;
    step("cargo clippy -D warnings", || {
        run_cmd(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
    })?;
    test(opts, &[])
}

#[derive(Debug, Default)]
struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
    /// Names of the failed tests, repeated at the end where a CI log's tail shows them.
    failures: Vec<String>,
}

impl Counts {
    fn add(&mut self, more: Counts) {
        self.passed += more.passed;
        self.failed += more.failed;
        self.ignored += more.ignored;
        self.failures.extend(more.failures);
    }

    fn print_failures(&self) {
        for name in &self.failures {
            println!("failed: {name}");
        }
    }
}

/// `test realtime::edge::resume ... FAILED` → `realtime::edge::resume`.
fn cargo_failure(line: &str) -> Option<&str> {
    line.strip_prefix("test ")?.strip_suffix(" ... FAILED")
}

/// A TAP `not ok 3 - sends a message` (subtests indented) → `sends a message`.
fn tap_failure(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("not ok ")?;
    let name = rest.split_once(' ').map_or("", |(_, name)| name);
    Some(name.trim_start_matches("- ").split(" # ").next().unwrap_or(name).trim())
}

/// vitest's ` FAIL  src/seq.test.ts > seq > resumes` → `src/seq.test.ts > seq > resumes`.
fn vitest_failure(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("FAIL ")?.trim();
    rest.contains(" > ").then_some(rest)
}

/// Runs `cargo test` (every test binary, even after one fails), streaming its output and
/// adding up every binary's result line.
fn cargo_test(extra: &[String], env: &[(&str, &std::path::Path)]) -> Result<Counts> {
    let mut child = cargo()
        .envs(env.iter().copied())
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .context("start cargo test")?;
    let mut counts = Counts::default();
    let stdout = child.stdout.take().context("cargo test stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(name) = cargo_failure(&line) {
            counts.failures.push(format!("cargo test: {name}"));
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            counts.passed += number_before(rest, " passed");
            counts.failed += number_before(rest, " failed");
            counts.ignored += number_before(rest, " ignored");
        }
    }
    let status = child.wait()?;
    if !status.success() && counts.failed == 0 {
        bail!("cargo test failed ({status}) before reporting failures: see the output above");
    }
    Ok(counts)
}

/// The web client's unit tests (vitest: the markdown renderer, seq tracking, backoff...),
/// counted from vitest's summary line (`Tests  2 failed | 33 passed (35)`).
fn web_unit_tests() -> Result<Counts> {
    system::ensure_node()?;
    let out = Command::new("npx")
        .args(["vitest", "run", "--color=false"])
        .current_dir("web")
        .env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .stderr(Stdio::inherit())
        .output()
        .context("start vitest")?;
    let raw = String::from_utf8_lossy(&out.stdout);
    print!("{raw}");
    // Some CI environments force colour whatever the flags say; count on plain text.
    let text = strip_ansi(&raw);
    let mut failures: Vec<String> =
        text.lines().filter_map(vitest_failure).map(|name| format!("vitest: {name}")).collect();
    failures.dedup();
    let mut counts = Counts { failures, ..Counts::default() };
    if let Some(line) = text.lines().map(str::trim).find(|l| l.starts_with("Tests ")) {
        for part in line.trim_start_matches("Tests").split('|') {
            let mut words = part.split_whitespace();
            let n = words.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            match words.next() {
                Some("passed") => counts.passed += n,
                Some("failed") => counts.failed += n,
                Some("skipped" | "todo") => counts.ignored += n,
                _ => {}
            }
        }
    }
    if !out.status.success() && counts.failed == 0 {
        bail!("vitest failed ({}) before reporting results: see the output above", out.status);
    }
    if counts.passed + counts.failed == 0 {
        bail!("vitest ran no test");
    }
    Ok(counts)
}

/// The browser suite (web/e2e, node's test runner): it starts target/debug/ocomms with
/// a fresh data directory and its managed PostgreSQL, drives Chromium, and stops the host.
fn browser_tests() -> Result<Counts> {
    system::ensure_node()?;
    let chromium = system::chromium()?;
    let root = std::env::current_dir()?;
    let host = root.join("target").join("debug").join("ocomms");
    let mut child = Command::new("node")
        .args(["--test", "--test-reporter=tap", "--test-concurrency=1", "e2e/"])
        .current_dir(root.join("web"))
        .env("OCOMMS_HOST_BIN", &host)
        .env("OCOMMS_CHROMIUM", &chromium)
        .env_remove("OCOMMS_E2E_URL")
        .stdout(Stdio::piped())
        .spawn()
        .context("start node --test")?;
    let mut counts = Counts::default();
    let stdout = child.stdout.take().context("node --test stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(name) = tap_failure(&line) {
            counts.failures.push(format!("browser: {name}"));
        }
        let num = |label: &str| line.strip_prefix(label).and_then(|n| n.trim().parse::<u64>().ok());
        if let Some(n) = num("# pass ") {
            counts.passed += n;
        } else if let Some(n) = num("# fail ").or_else(|| num("# cancelled ")) {
            counts.failed += n;
        } else if let Some(n) = num("# skipped ").or_else(|| num("# todo ")) {
            counts.ignored += n;
        }
    }
    let status = child.wait()?;
    if !status.success() && counts.failed == 0 {
        bail!("the browser tests failed ({status}) before reporting results: see the output above");
    }
    if counts.passed + counts.failed == 0 {
        bail!("the browser tests ran no test");
    }
    Ok(counts)
}

/// Drops ANSI escape sequences (`ESC [ ... letter`), so summaries parse the same coloured or not.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn number_before(s: &str, label: &str) -> u64 {
    s.split(';')
        .find_map(|part| {
            part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(label)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_result_lines() {
        let l = "ok. 12 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.1s";
        assert_eq!(super::number_before(l, " passed"), 12);
        assert_eq!(super::number_before(l, " failed"), 1);
        assert_eq!(super::number_before(l, " ignored"), 2);
        assert_eq!(super::number_before("FAILED. 3 passed; 4 failed;", " failed"), 4);
    }

    #[test]
    fn ansi_colour_is_stripped() {
        let line =
            "\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[32m42 passed\u{1b}[39m\u{1b}[22m\u{1b}[90m (42)\u{1b}[39m";
        assert_eq!(super::strip_ansi(line), "      Tests  42 passed (42)");
    }

    #[test]
    fn failure_names_are_read_from_each_runner() {
        assert_eq!(super::cargo_failure("test realtime::edge::resume ... FAILED"), Some("realtime::edge::resume"));
        assert_eq!(super::cargo_failure("test realtime::edge::resume ... ok"), None);
        assert_eq!(super::tap_failure("    not ok 3 - sends a message # TODO"), Some("sends a message"));
        assert_eq!(super::tap_failure("ok 3 - sends a message"), None);
        assert_eq!(
            super::vitest_failure(" FAIL  src/seq.test.ts > seq > resumes"),
            Some("src/seq.test.ts > seq > resumes")
        );
        assert_eq!(super::vitest_failure(" FAIL  src/seq.test.ts [ src/seq.test.ts ]"), None);
    }
}
