//! Bot token scopes, Slack's names. A token carries the scopes an admin granted; each Web
//! API method needs one, and reading or joining a channel needs the scope of its kind
//! (`channels:*` for public channels, `groups:*` for private ones, `im:*` for direct
//! messages), as in Slack.

use std::collections::BTreeSet;

use crate::policy::ChannelKind;

/// Every scope a token may be granted.
pub const ALL: &[&str] = &[
    "channels:history",
    "channels:join",
    "channels:read",
    "chat:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "pins:write",
    "reactions:read",
    "reactions:write",
    "users:read",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("unknown scope {0:?}")]
    Unknown(String),
    #[error("a token needs at least one scope")]
    Empty,
}

/// Checks and de-duplicates requested scopes, in a stable order.
pub fn parse(requested: &[String]) -> Result<Vec<String>, ScopeError> {
    let mut set = BTreeSet::new();
    for s in requested {
        let s = s.trim();
        if !ALL.contains(&s) {
            return Err(ScopeError::Unknown(s.to_string()));
        }
        set.insert(s.to_string());
    }
    if set.is_empty() {
        return Err(ScopeError::Empty);
    }
    Ok(set.into_iter().collect())
}

/// What a channel operation needs, by channel kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelUse {
    Read,
    History,
}

/// The scope `use_` of a channel of `kind` needs.
pub fn for_channel(kind: ChannelKind, use_: ChannelUse) -> &'static str {
    match (kind, use_) {
        (ChannelKind::Public, ChannelUse::Read) => "channels:read",
        (ChannelKind::Private, ChannelUse::Read) => "groups:read",
        (ChannelKind::Dm, ChannelUse::Read) => "im:read",
        (ChannelKind::Public, ChannelUse::History) => "channels:history",
        (ChannelKind::Private, ChannelUse::History) => "groups:history",
        (ChannelKind::Dm, ChannelUse::History) => "im:history",
    }
}

/// Slack's `missing_scope` refusal when `granted` lacks `needed`.
pub fn require(granted: &[String], needed: &'static str) -> Result<(), &'static str> {
    if granted.iter().any(|g| g == needed) { Ok(()) } else { Err(needed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_sorted() {
        let got = parse(&["users:read".into(), "chat:write".into(), "users:read".into()]).unwrap();
        assert_eq!(got, ["chat:write", "users:read"]);
        assert_eq!(parse(&["admin".into()]), Err(ScopeError::Unknown("admin".into())));
        assert_eq!(parse(&[]), Err(ScopeError::Empty));
    }

    #[test]
    fn a_channel_needs_the_scope_of_its_kind() {
        assert_eq!(for_channel(ChannelKind::Private, ChannelUse::History), "groups:history");
        assert_eq!(for_channel(ChannelKind::Public, ChannelUse::Read), "channels:read");
        let granted = vec!["channels:read".to_string()];
        assert_eq!(require(&granted, "channels:read"), Ok(()));
        assert_eq!(require(&granted, "groups:read"), Err("groups:read"));
    }
}
