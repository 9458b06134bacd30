//! The mail we send about accounts: what each says, in plain text and HTML, and how long its
//! link lives. Links carry their token in the fragment (`#token=`), which browsers never
//! send to a server, so it stays out of proxies' logs and `Referer` headers.

/// How long a link works.
pub const VERIFY_TTL_SECS: i64 = 24 * 3600;
/// Short: whoever reads the mail can take the account.
pub const RESET_TTL_SECS: i64 = 3600;
/// Short and bound to one browser (see `email_tokens.browser_hash`).
pub const MAGIC_TTL_SECS: i64 = 15 * 60;

/// Where each link opens in the web client.
pub const VERIFY_PATH: &str = "/verify-email";
pub const RESET_PATH: &str = "/reset-password";
pub const MAGIC_PATH: &str = "/magic-link";

/// One mail, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a mail is about. `origin` is the web client's base URL.
#[derive(Debug, Clone, Copy)]
pub enum Template<'a> {
    /// Sign-up: follow the link to confirm the address and sign in.
    Verify { origin: &'a str, token: &'a str },
    /// Sign-up with an address that already has an account: says so to the address's owner
    /// only (the person signing up is told the same as for a new address).
    AccountExists { origin: &'a str },
    /// Password reset requested.
    Reset { origin: &'a str, token: &'a str },
    /// Reset requested, or magic link asked for, for an address with no account.
    NoAccount { origin: &'a str },
    /// Magic-link sign-in.
    Magic { origin: &'a str, token: &'a str },
    /// The password was changed (by a reset): so an owner who did not do it finds out.
    PasswordChanged { origin: &'a str },
}

pub fn link(origin: &str, path: &str, token: &str) -> String {
    format!("{origin}{path}#token={token}")
}

/// The mail for `template`, addressed to `to`.
pub fn render(to: &str, template: Template<'_>) -> Email {
    let (subject, paragraphs, action): (&str, Vec<String>, Option<(&str, String)>) = match template {
        Template::Verify { origin, token } => (
            "Confirm your email address",
            vec![
                "Someone (we hope you) signed up for OComms with this address.".into(),
                "Follow the link within 24 hours to confirm it and sign in. If it was not you, ignore this mail: \
                 nothing happens without the link."
                    .into(),
            ],
            Some(("Confirm and sign in", link(origin, VERIFY_PATH, token))),
        ),
        Template::AccountExists { origin } => (
            "You already have an account",
            vec![
                "Someone tried to sign up for OComms with this address, which already has an account.".into(),
                "If it was you, sign in instead, or reset your password if you forgot it. If it was not you, \
                 ignore this mail: your account is unchanged."
                    .into(),
            ],
            Some(("Sign in", format!("{origin}/"))),
        ),
        Template::Reset { origin, token } => (
            "Reset your password",
            vec![
                "Someone (we hope you) asked to reset the password of your OComms account.".into(),
                "Follow the link within an hour to choose a new one. If it was not you, ignore this mail: your \
                 password is unchanged."
                    .into(),
            ],
            Some(("Choose a new password", link(origin, RESET_PATH, token))),
        ),
        Template::NoAccount { origin } => (
            "No account with this address",
            vec![
                "Someone asked to sign in to OComms, or to reset a password, with this address, but it has no \
                 account. If it was you, sign up first; if not, ignore this mail."
                    .into(),
            ],
            Some(("Sign up", format!("{origin}/"))),
        ),
        Template::Magic { origin, token } => (
            "Your sign-in link",
            vec![
                "Follow the link within 15 minutes, in the same browser that asked for it, to sign in to OComms. \
                 It works once."
                    .into(),
                "If you did not ask for it, ignore this mail: nobody can use the link from another browser.".into(),
            ],
            Some(("Sign in", link(origin, MAGIC_PATH, token))),
        ),
        Template::PasswordChanged { origin } => (
            "Your password was changed",
            vec![
                "The password of your OComms account was just changed, and every other session was signed out.".into(),
                "If it was not you, reset your password now and check the email address of your account.".into(),
            ],
            Some(("Open OComms", format!("{origin}/"))),
        ),
    };
    let mut text = paragraphs.join("\n\n");
    let mut html = String::from("<!doctype html><html><body style=\"font-family:sans-serif\">");
    for p in &paragraphs {
        html.push_str(&format!("<p>{}</p>", escape(p)));
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("\n\n{label}: {url}\n"));
        html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape(&url), escape(label)));
    }
    html.push_str("</body></html>");
    Email { to: to.to_string(), subject: subject.to_string(), text, html }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_token_in_the_fragment_in_both_parts() {
        let m = render("a@example.com", Template::Magic { origin: "https://chat.example", token: "tok_1" });
        let url = "https://chat.example/magic-link#token=tok_1";
        assert!(m.text.contains(url), "{}", m.text);
        assert!(m.html.contains(&format!("href=\"{url}\"")), "{}", m.html);
        assert_eq!(m.to, "a@example.com");
        assert_eq!(m.subject, "Your sign-in link");
    }

    #[test]
    fn html_is_escaped() {
        let m = render("a@example.com", Template::Verify { origin: "https://x\"><script>", token: "t" });
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn mails_that_answer_for_an_unknown_or_known_address_have_no_link_with_a_token() {
        for t in [Template::AccountExists { origin: "https://c" }, Template::NoAccount { origin: "https://c" }] {
            let m = render("a@example.com", t);
            assert!(!m.text.contains("#token="), "{}", m.text);
        }
    }
}
