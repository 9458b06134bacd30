//! Notification preferences: which messages of a channel notify, and do not disturb.
//!
//! Clients decide whether to show a notification (they know whether the tab is hidden); the
//! server keeps the preferences so that every device of a user decides the same way.

use serde::{Deserialize, Serialize};

use crate::ApiError;

/// Longest timed do-not-disturb, in minutes (a week). Longer is "until I turn it off".
pub const MAX_DND_MINUTES: i64 = 7 * 24 * 60;

/// Which messages of one channel notify its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyLevel {
    /// The channel kind's default: `all` in a direct message, `mentions` elsewhere.
    Default,
    /// Every message from someone else.
    All,
    /// Mentions of the user, `@channel`/`@here`, and replies in threads the user follows.
    Mentions,
    /// Nothing (muted); unread counts still show.
    Nothing,
}

impl NotifyLevel {
    pub const NAMES: [&str; 4] = ["default", "all", "mentions", "nothing"];

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "default" => Ok(Self::Default),
            "all" => Ok(Self::All),
            "mentions" => Ok(Self::Mentions),
            "nothing" => Ok(Self::Nothing),
            _ => Err(ApiError::validation(format!("level must be one of {}", Self::NAMES.join(", ")))),
        }
    }

    /// The stored value: `None` (NULL) for the default, so a change of default reaches
    /// everyone who never chose.
    pub fn stored(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::All => Some("all"),
            Self::Mentions => Some("mentions"),
            Self::Nothing => Some("nothing"),
        }
    }

    pub fn from_stored(raw: Option<&str>) -> Self {
        match raw {
            Some("all") => Self::All,
            Some("mentions") => Self::Mentions,
            Some("nothing") => Self::Nothing,
            _ => Self::Default,
        }
    }
}

/// A do-not-disturb duration: `None` lasts until turned off.
pub fn dnd_minutes(raw: Option<i64>) -> Result<Option<i64>, ApiError> {
    match raw {
        Some(m) if !(1..=MAX_DND_MINUTES).contains(&m) => {
            Err(ApiError::validation(format!("minutes must be between 1 and {MAX_DND_MINUTES}")))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_through_storage() {
        for name in NotifyLevel::NAMES {
            let level = NotifyLevel::parse(name).unwrap();
            assert_eq!(NotifyLevel::from_stored(level.stored()), level);
            assert_eq!(serde_json::to_value(level).unwrap(), name);
        }
        assert_eq!(NotifyLevel::Default.stored(), None);
    }

    #[test]
    fn unknown_levels_are_refused() {
        for bad in ["", "All", "mute", "mentions "] {
            let e = NotifyLevel::parse(bad).unwrap_err();
            assert!(e.message.contains("default, all, mentions, nothing"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn dnd_lasts_a_minute_to_a_week() {
        assert_eq!(dnd_minutes(None).unwrap(), None);
        assert_eq!(dnd_minutes(Some(1)).unwrap(), Some(1));
        assert_eq!(dnd_minutes(Some(MAX_DND_MINUTES)).unwrap(), Some(MAX_DND_MINUTES));
        for bad in [0, -5, MAX_DND_MINUTES + 1] {
            assert!(dnd_minutes(Some(bad)).is_err(), "{bad}");
        }
    }
}
