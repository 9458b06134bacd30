//! Fuzz target `emoji`: the checks live in functions/core/tests/fuzzing/mod.rs, shared with
//! the property tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../functions/core/tests/fuzzing/mod.rs"]
mod fuzzing;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    fuzzing::check_reaction(text);
});
