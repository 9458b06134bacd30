//! Cookies the web client never reads: the refresh token and the magic-link browser nonce.
//!
//! A browser client asks for cookie mode with [`MODE_HEADER`] on every auth call. Its refresh
//! token then lives in an `HttpOnly` cookie scoped to the refresh route, out of reach of any
//! script (an XSS can use the session while the page is open, but cannot carry it away);
//! the access token stays in the page's memory. Other clients (bots, scripts, mobile apps)
//! keep getting the refresh token in the body.
//!
//! Cross-site requests cannot ride on these cookies: they are `SameSite=Strict`, and the
//! routes that read them also require [`MODE_HEADER`], which a cross-site form cannot set
//! and a cross-site `fetch` cannot send without a CORS preflight we never grant.

use crate::http::Request;

/// `x-ocomms-session: cookie` asks for (and proves) cookie mode.
pub const MODE_HEADER: &str = "x-ocomms-session";
pub const REFRESH: &str = "ocomms_refresh";
/// Only the refresh route needs the refresh token.
pub const REFRESH_PATH: &str = "/api/v1/auth/refresh";
pub const MAGIC: &str = "ocomms_magic";
/// The magic-link routes: asking (sets it) and following (reads it).
pub const MAGIC_PATH: &str = "/api/v1/auth/magic-link";

/// Did the client ask for cookie mode?
pub fn wanted(req: &Request) -> bool {
    req.header(MODE_HEADER).is_some_and(|v| v.trim().eq_ignore_ascii_case("cookie"))
}

/// The value of cookie `name` in the request, if sent.
pub fn get(req: &Request, name: &str) -> Option<String> {
    req.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value. `Secure` whenever the browser will keep it: always over https, and
/// on loopback (browsers treat `http://localhost` as secure); a plain-http install on a LAN
/// address gets the cookie without it, or it would never be stored.
pub fn set(req: &Request, name: &str, value: &str, path: &str, max_age_secs: i64) -> String {
    let secure = if secure_origin(&req.origin()) { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}")
}

/// The single sign-on attempt's browser nonce: `Lax`, since the provider's redirect back
/// is a cross-site navigation, which a `Strict` cookie would not ride.
pub const SSO: &str = "ocomms_sso";
pub const SSO_PATH: &str = "/api/v1/auth/oidc";

/// Like [`set`], but `SameSite=Lax` (sent on top-level navigations from other sites).
pub fn set_lax(req: &Request, name: &str, value: &str, path: &str, max_age_secs: i64) -> String {
    set(req, name, value, path, max_age_secs).replace("SameSite=Strict", "SameSite=Lax")
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(req: &Request, name: &str, path: &str) -> String {
    set(req, name, "", path, 0)
}

fn secure_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else { return false };
    if scheme.eq_ignore_ascii_case("https") {
        return true;
    }
    let host =
        host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]") || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn req(headers: &[(&str, &str)]) -> Request {
        let mut r = Request::new(Method::Post, "/api/v1/auth/refresh");
        r.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn reads_one_cookie_among_several() {
        let r = req(&[("cookie", "a=1; ocomms_refresh=tok; b=2")]);
        assert_eq!(get(&r, REFRESH).as_deref(), Some("tok"));
        assert_eq!(get(&r, MAGIC), None);
        assert_eq!(get(&req(&[("cookie", "ocomms_refresh=")]), REFRESH), None);
    }

    #[test]
    fn secure_over_https_and_loopback_only() {
        let https = req(&[("host", "chat.example"), ("x-forwarded-proto", "https")]);
        assert!(set(&https, REFRESH, "t", REFRESH_PATH, 60).ends_with("; Secure"));
        let local = req(&[("host", "127.0.0.1:8080")]);
        assert!(set(&local, REFRESH, "t", REFRESH_PATH, 60).contains("HttpOnly; SameSite=Strict; Secure"));
        let lan = req(&[("host", "10.0.0.5:8080")]);
        assert!(!set(&lan, REFRESH, "t", REFRESH_PATH, 60).contains("Secure"));
        assert!(clear(&local, REFRESH, REFRESH_PATH).contains("Max-Age=0"));
    }

    #[test]
    fn mode_is_asked_for_by_header() {
        assert!(wanted(&req(&[("X-OComms-Session", "cookie")])));
        assert!(!wanted(&req(&[])));
    }
}
