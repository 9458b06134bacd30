//! The API's `Env` port on a Worker: JS time, `crypto.getRandomValues`, the console.

use ocomms_api::ports::Env;

#[derive(Debug, Clone, Copy, Default)]
pub struct JsEnv;

impl Env for JsEnv {
    /// Workers advance this clock only across I/O (a Spectre mitigation); that is precise
    /// enough for token expiry and event times.
    fn now_ms(&self) -> i64 {
        worker::js_sys::Date::now() as i64
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // crypto.getRandomValues does not fail for buffers this small; if it ever did, ids
        // would collide and the database's unique keys would refuse them.
        if let Err(e) = getrandom::fill(buf) {
            worker::console_error!("getRandomValues failed: {e}");
        }
    }

    fn log_error(&self, message: &str) {
        worker::console_error!("{message}");
    }
}
