//! Identifier rules, as in Spin's manifest (`spin_serde::id`):
//!
//! an id is one or more words joined by a delimiter (`-` for component ids, `_` for variable
//! names and key-value store labels); every word is non-empty, starts with an ASCII letter and
//! holds only ASCII letters and digits, and is all lower-case or all upper-case. Variable names
//! must in addition be entirely lower-case.

/// Component ids: kebab case (`api`, `rooms-api`, `v2-api`).
pub fn check_component_id(id: &str) -> Result<(), String> {
    check_id(id, '-', false)
}

/// Application and component variable names: lower snake case (`jwt_secret`).
pub fn check_variable_name(name: &str) -> Result<(), String> {
    check_id(name, '_', true)
}

/// Key-value store labels: snake case (`default`, `rooms_cache`).
pub fn check_store_label(label: &str) -> Result<(), String> {
    check_id(label, '_', false)
}

fn check_id(id: &str, delim: char, lower_only: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".to_string());
    }
    let wrong = if delim == '-' { '_' } else { '-' };
    if id.contains(wrong) {
        return Err(format!("words must be separated with {delim:?}, not {wrong:?}"));
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("{delim:?}-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!("{delim:?}-separated words must start with an ASCII letter; got {first:?}"));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if c.is_ascii_digit() {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(format!("{delim:?}-separated words may only contain ASCII letters and digits; got {c:?}"));
            }
            if c.is_ascii_uppercase() != upper {
                return Err(format!(
                    "{delim:?}-separated words must be all lower-case or all upper-case; got {word:?}"
                ));
            }
        }
        if lower_only && upper {
            return Err("must be all lower-case".to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids() {
        for ok in ["api", "rooms-api", "v2-api", "API", "a1"] {
            assert!(check_component_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "rooms_api", "-api", "api-", "a--b", "2api", "Api", "api.x"] {
            assert!(check_component_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn variable_names() {
        for ok in ["jwt_secret", "a", "rooms_url2"] {
            assert!(check_variable_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "JWT_SECRET", "jwt-secret", "_x", "x_", "1x", "jwtSecret"] {
            assert!(check_variable_name(bad).is_err(), "{bad}");
        }
    }
}
