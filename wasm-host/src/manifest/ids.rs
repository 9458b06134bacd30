//! Identifier rules, as in Spin's manifest (`spin_serde::id`):
//!
//! an id is one or more words joined by a delimiter (`-` for component ids, `_` for variable
//! names and key-value store labels); every word is non-empty, starts with an ASCII letter and
//! holds only ASCII letters and digits, and is all lower-case or all upper-case. Variable names
//! must in addition be entirely lower-case.

/// Why an id, variable name or store label breaks the rule (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("words must be separated with {expected:?}, not {found:?}")]
    WrongDelimiter { expected: char, found: char },
    #[error("{delim:?}-separated words must not be empty")]
    EmptyWord { delim: char },
    #[error("{delim:?}-separated words must start with an ASCII letter; got {found:?}")]
    BadStart { delim: char, found: char },
    #[error("{delim:?}-separated words may only contain ASCII letters and digits; got {found:?}")]
    BadCharacter { delim: char, found: char },
    #[error("{delim:?}-separated words must be all lower-case or all upper-case; got {word:?}")]
    MixedCase { delim: char, word: String },
    #[error("must be all lower-case")]
    NotLowerCase,
}

/// Component ids: kebab case (`api`, `rooms-api`, `v2-api`).
pub fn check_component_id(id: &str) -> Result<(), IdError> {
    check_id(id, '-', false)
}

/// Application and component variable names: lower snake case (`jwt_secret`).
pub fn check_variable_name(name: &str) -> Result<(), IdError> {
    check_id(name, '_', true)
}

/// Key-value store labels: snake case (`default`, `rooms_cache`).
pub fn check_store_label(label: &str) -> Result<(), IdError> {
    check_id(label, '_', false)
}

fn check_id(id: &str, delim: char, lower_only: bool) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    let wrong = if delim == '-' { '_' } else { '-' };
    if id.contains(wrong) {
        return Err(IdError::WrongDelimiter { expected: delim, found: wrong });
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(IdError::EmptyWord { delim });
        };
        if !first.is_ascii_alphabetic() {
            return Err(IdError::BadStart { delim, found: first });
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if c.is_ascii_digit() {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(IdError::BadCharacter { delim, found: c });
            }
            if c.is_ascii_uppercase() != upper {
                return Err(IdError::MixedCase { delim, word: word.to_owned() });
            }
        }
        if lower_only && upper {
            return Err(IdError::NotLowerCase);
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

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(check_component_id(""), Err(IdError::Empty));
        assert_eq!(check_component_id("rooms_api"), Err(IdError::WrongDelimiter { expected: '-', found: '_' }));
        assert_eq!(check_component_id("a--b"), Err(IdError::EmptyWord { delim: '-' }));
        assert_eq!(check_component_id("2api"), Err(IdError::BadStart { delim: '-', found: '2' }));
        assert_eq!(check_component_id("api.x"), Err(IdError::BadCharacter { delim: '-', found: '.' }));
        assert_eq!(check_component_id("Api"), Err(IdError::MixedCase { delim: '-', word: "Api".into() }));
        assert_eq!(check_variable_name("JWT"), Err(IdError::NotLowerCase));
        assert_eq!(check_store_label("CACHE"), Ok(()));
        assert_eq!(
            check_component_id("rooms_api").map_err(|e| e.to_string()),
            Err("words must be separated with '-', not '_'".to_string())
        );
    }
}
