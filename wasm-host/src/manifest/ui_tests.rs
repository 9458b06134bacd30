//! Snapshot tests in the style of Spin's manifest crate: every `tests/manifest-ui/*.toml` is
//! parsed; when a `.err` file of the same name exists the parse must fail with exactly that
//! text (trailing newlines ignored), otherwise it must succeed. The text is the error and its
//! sources on one line, as the wasm-host binary prints it.
//!
//! Set `MANIFEST_UI_BLESS=1` to (re)write the `.err` files of failing cases from the current
//! output instead of comparing.

use std::path::{Path, PathBuf};

use super::error::report;
use super::parse;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifest-ui")
}

#[test]
fn manifest_ui() {
    let dir = ui_dir();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "expected the manifest-ui cases in {}", dir.display());

    let bless = std::env::var_os("MANIFEST_UI_BLESS").is_some();
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(input).expect("readable input");
        let expected_path = input.with_extension("err");
        let expected = std::fs::read_to_string(&expected_path).ok();
        let result = parse(&text, &dir);
        match (result, expected) {
            (Ok(_), None) => {}
            (Ok(_), Some(expected)) => {
                failures.push(format!("{name}: parsed, but expected the error\n  {}", expected.trim_end()))
            }
            (Err(e), _) if bless => {
                std::fs::write(&expected_path, format!("{}\n", report(&e))).expect("write .err");
            }
            (Err(e), None) => failures.push(format!(
                "{name}: expected to parse, got\n  {}\n(add {} to expect this error)",
                report(&e),
                expected_path.display()
            )),
            (Err(e), Some(expected)) => {
                let actual = report(&e);
                if actual.trim_end() != expected.trim_end() {
                    failures.push(format!(
                        "{name}: error text differs\n  expected: {}\n  actual:   {}",
                        expected.trim_end(),
                        actual.trim_end()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "manifest-ui failures:\n{}", failures.join("\n"));
}

#[test]
fn valid_manifest_contents() {
    let dir = ui_dir();
    let text = std::fs::read_to_string(dir.join("valid.toml")).expect("valid.toml");
    let manifest = parse(&text, &dir).expect("valid.toml parses");
    assert_eq!(manifest.application.name, "ocomms");
    assert!(manifest.components.contains_key("api"));
    assert_eq!(manifest.component_source("api"), Some(dir.join("target/wasm32-wasip2/wasm/ocomms_component.wasm")));
    assert!(!manifest.triggers.is_empty());
}
