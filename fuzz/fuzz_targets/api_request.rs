//! One request through the API over fake ports; the input form and the checks live in
//! functions/api/tests/fuzzing/mod.rs, shared with the property test.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../functions/api/tests/fuzzing/mod.rs"]
mod fuzzing;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = fuzzing::Input::from_fuzz_bytes(data) {
        fuzzing::check(&input);
    }
});
