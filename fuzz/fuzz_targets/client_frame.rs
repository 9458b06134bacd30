//! Fuzz target `client_frame`: the checks live in functions/core/tests/fuzzing/mod.rs, shared with
//! the property tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../functions/core/tests/fuzzing/mod.rs"]
mod fuzzing;

fuzz_target!(|data: &[u8]| {
    fuzzing::check_frame_input(data);
});
