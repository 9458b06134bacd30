//! Rate limits: how often one account, one client address or one user may do something
//! costly or guessable. Each is a token bucket: `burst` at once, refilled at `burst` per
//! `period`; a request that finds the bucket empty is refused with 429 and `Retry-After`.
//!
//! The defaults are generous for people and tight for scripts:
//! - login: 10 attempts per account per 5 minutes (a person mistyping a password does not
//!   come near it; a guesser gets 2 a minute), and 30 per address per minute (a NAT of
//!   colleagues logging in at 9:00);
//! - signup: 20 per address per 10 minutes (an office onboarding behind one NAT pauses
//!   briefly; a script is slowed to 2 a minute);
//! - token refresh: 60 per address per minute (every tab refreshes every 15 minutes);
//! - posting: 30 messages per user per 10 seconds (a fast typist sends one a second;
//!   pasting a burst is fine, a flood is not), for bots as for people;
//! - invite lookups and acceptances: 30 per user per minute (codes are unguessable, but
//!   nobody needs more);
//! - slash commands: 20 per user per minute (each one calls an app);
//! - mail we send on request (sign-up, magic links, password resets): 10 requests per client
//!   address per 10 minutes, and 5 mails per recipient per hour, so nobody can turn us into
//!   a mail bomb aimed at someone else's inbox (a person needs one or two).
//!
//! Incoming webhooks have their own bucket per hook (`repo::integrations`).
//!
//! Operators change them with one setting (`rate_limits`): `name=burst/seconds`, comma
//! separated, e.g. `login_account=5/300,post_user=60/10`.

use std::collections::BTreeMap;

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    LoginAccount,
    LoginAddress,
    SignupAddress,
    RefreshAddress,
    PostUser,
    InviteUser,
    CommandUser,
    EmailAddress,
    EmailRecipient,
}

impl Limit {
    pub const ALL: [Limit; 9] = [
        Limit::LoginAccount,
        Limit::LoginAddress,
        Limit::SignupAddress,
        Limit::RefreshAddress,
        Limit::PostUser,
        Limit::InviteUser,
        Limit::CommandUser,
        Limit::EmailAddress,
        Limit::EmailRecipient,
    ];

    /// The name in `rate_limits` and the prefix of the bucket's key.
    pub fn name(self) -> &'static str {
        match self {
            Limit::LoginAccount => "login_account",
            Limit::LoginAddress => "login_address",
            Limit::SignupAddress => "signup_address",
            Limit::RefreshAddress => "refresh_address",
            Limit::PostUser => "post_user",
            Limit::InviteUser => "invite_user",
            Limit::CommandUser => "command_user",
            Limit::EmailAddress => "email_address",
            Limit::EmailRecipient => "email_recipient",
        }
    }

    fn default_rate(self) -> Rate {
        let r = |burst, period_secs| Rate { burst, period_secs };
        match self {
            Limit::LoginAccount => r(10, 300),
            Limit::LoginAddress => r(30, 60),
            Limit::SignupAddress => r(20, 600),
            Limit::RefreshAddress => r(60, 60),
            Limit::PostUser => r(30, 10),
            Limit::InviteUser => r(30, 60),
            Limit::CommandUser => r(20, 60),
            Limit::EmailAddress => r(10, 600),
            Limit::EmailRecipient => r(5, 3600),
        }
    }

    /// The bucket of `subject` (an account's email, an address, a user id).
    pub fn key(self, subject: &str) -> String {
        format!("{}:{subject}", self.name())
    }
}

/// `burst` requests at once, refilled evenly over `period_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period_secs: u32,
}

impl Rate {
    pub fn per_sec(self) -> f64 {
        f64::from(self.burst) / f64::from(self.period_secs.max(1))
    }

    /// Seconds until one request passes again, given what is left in the bucket.
    pub fn retry_after_secs(self, tokens_left: f64) -> u64 {
        let missing = (1.0 - tokens_left).max(0.0);
        (missing / self.per_sec()).ceil().max(1.0) as u64
    }
}

/// The `rate_limits` value that turns every limit off.
pub const UNLIMITED: &str = "off";

/// Every limit's rate: the defaults, with the operator's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits(BTreeMap<Limit, Rate>);

impl Default for Limits {
    fn default() -> Self {
        Self(Limit::ALL.iter().map(|l| (*l, l.default_rate())).collect())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate_limits: {0:?} is not name=burst/seconds with a known name and numbers above 0")]
pub struct LimitsError(pub String);

impl Limits {
    /// The defaults changed by `name=burst/seconds` entries (comma-separated; empty keeps
    /// the defaults).
    pub fn parse(s: &str) -> Result<Self, LimitsError> {
        if s.trim() == UNLIMITED {
            return Ok(Self(Limit::ALL.iter().map(|l| (*l, Rate { burst: 1_000_000, period_secs: 1 })).collect()));
        }
        let mut out = Self::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || LimitsError(entry.to_string());
            let (name, rate) = entry.split_once('=').ok_or_else(bad)?;
            let limit = Limit::ALL.into_iter().find(|l| l.name() == name.trim()).ok_or_else(bad)?;
            let (burst, period) = rate.split_once('/').ok_or_else(bad)?;
            let burst: u32 = burst.trim().parse().map_err(|_| bad())?;
            let period_secs: u32 = period.trim().parse().map_err(|_| bad())?;
            if burst == 0 || period_secs == 0 {
                return Err(bad());
            }
            out.0.insert(limit, Rate { burst, period_secs });
        }
        Ok(out)
    }

    /// A `rate_limits` setting under which nothing is ever limited: for benchmarks and for
    /// tests of something else, whose many clients all come from one address.
    pub fn unlimited_setting() -> String {
        UNLIMITED.to_string()
    }

    pub fn rate(&self, limit: Limit) -> Rate {
        self.0.get(&limit).copied().unwrap_or_else(|| limit.default_rate())
    }
}

/// The client's address from a proxy's header: the last entry of a list (the one the
/// trusted proxy added; earlier ones are the client's to write), without a port.
pub fn address_from_header(value: &str) -> Option<String> {
    let last = value.rsplit(',').next()?.trim();
    let ip =
        last.parse::<std::net::IpAddr>().ok().or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_changes() {
        let l = Limits::parse("login_account=5/60, post_user=100/10").expect("valid");
        assert_eq!(l.rate(Limit::LoginAccount), Rate { burst: 5, period_secs: 60 });
        assert_eq!(l.rate(Limit::PostUser), Rate { burst: 100, period_secs: 10 });
        assert_eq!(l.rate(Limit::SignupAddress), Rate { burst: 20, period_secs: 600 });
        for bad in ["login=5/60", "post_user=5", "post_user=0/10", "post_user=5/0", "post_user=x/1"] {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Limits::parse("").expect("empty"), Limits::default());
        let free = Limits::parse(&Limits::unlimited_setting()).expect("valid");
        assert!(Limit::ALL.iter().all(|l| free.rate(*l).burst == 1_000_000));
    }

    #[test]
    fn retry_after() {
        let r = Rate { burst: 10, period_secs: 300 };
        assert_eq!(r.retry_after_secs(0.0), 30);
        assert_eq!(r.retry_after_secs(0.5), 15);
        assert_eq!(r.retry_after_secs(2.0), 1);
    }

    #[test]
    fn addresses() {
        assert_eq!(address_from_header("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(address_from_header("1.1.1.1, 203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(address_from_header("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(address_from_header("10.0.0.1:5000").as_deref(), Some("10.0.0.1"));
        assert_eq!(address_from_header("nonsense"), None);
    }
}
