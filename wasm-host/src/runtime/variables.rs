//! `fermyon:spin/variables@2.0.0` (what `spin_sdk::variables` imports), answered from the
//! component's already-resolved variable map.

use super::bindings::fermyon::spin::variables::{Error, Host};
use super::state::HostState;

/// Spin's variable-name rule: lower-case ASCII letters, digits and `_`, starting with a letter.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Host for HostState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Some(value) = self.variables.get(&name) {
            return Ok(Ok(value.clone()));
        }
        if !valid_name(&name) {
            return Ok(Err(Error::InvalidName(format!(
                "invalid variable name {name:?}: use lower-case letters, digits and '_'"
            ))));
        }
        Ok(Err(Error::Undefined(format!("no variable named {name:?}"))))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert!(super::valid_name("db_url2"));
        assert!(!super::valid_name("DB_URL"));
        assert!(!super::valid_name("1abc"));
        assert!(!super::valid_name(""));
    }
}
