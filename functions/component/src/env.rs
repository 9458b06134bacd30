//! Clock, randomness and logs through WASI (std and getrandom map them to WASI imports).

use ocomms_api::ports::Env;

pub struct WasiEnv;

impl Env for WasiEnv {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // WASI's random source does not fail in practice; if it ever did, ids would collide
        // and the database's unique keys would refuse them rather than corrupt anything.
        if let Err(e) = getrandom::fill(buf) {
            eprintln!("getrandom failed: {e}");
        }
    }

    fn log_error(&self, message: &str) {
        eprintln!("{message}");
    }
}
