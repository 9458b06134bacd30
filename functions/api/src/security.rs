//! The security headers every response carries, on every runtime: the host adds them to
//! its own pages and errors, the Worker to its own answers, and [`crate::Api::handle`] to
//! the API's, so a Spin deployment gets them too. One list, so the runtimes cannot drift.
//!
//! - `Content-Security-Policy`: scripts and styles only from our origin (the web client has
//!   no inline script), nothing embeds us, no plugins, no `<base>` rewriting. Images may be
//!   `data:`/`blob:` (previews before upload) or come from the file store's origin when it is
//!   another one ([`SecurityHeaders::with_file_origin`]); the same origin is where uploads go.
//!   `connect-src 'self'` covers the WebSocket of the same host (CSP level 3).
//! - `X-Content-Type-Options: nosniff`: a JSON answer or an upload is never run as script.
//! - `X-Frame-Options: DENY`: `frame-ancestors` for browsers that predate it.
//! - `Referrer-Policy: no-referrer`: a link clicked in a message must not tell the other
//!   site which workspace, channel or invite page it was on; we never rely on `Referer`.
//! - `Strict-Transport-Security` only when the request came over TLS ([`over_tls`]): sent
//!   over plain HTTP it would be ignored at best, and lock out a development host at worst.

/// Stricter policy for uploaded files served back: an HTML or SVG upload opened directly
/// runs no script and gets an opaque origin.
pub const UPLOADED_FILE_CSP: &str = "default-src 'none'; sandbox";

/// One year; without `includeSubDomains`, which is the operator's call for their domain.
pub const HSTS: &str = "max-age=31536000";

/// The header names, lower case.
pub mod names {
    pub const CSP: &str = "content-security-policy";
    pub const NOSNIFF: &str = "x-content-type-options";
    pub const FRAME_OPTIONS: &str = "x-frame-options";
    pub const REFERRER_POLICY: &str = "referrer-policy";
    pub const HSTS: &str = "strict-transport-security";
}

/// The headers for one deployment; built once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    csp: std::borrow::Cow<'static, str>,
}

/// The policy when files come from our own origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self { csp: CONTENT_SECURITY_POLICY.into() }
    }
}

impl SecurityHeaders {
    /// `file_origin`: where browsers fetch and upload files when that is not our own origin
    /// (an S3 service's public endpoint), e.g. `https://files.example.com`.
    pub fn with_file_origin(file_origin: Option<&str>) -> Self {
        let Some(o) = file_origin.and_then(origin_of) else { return Self::default() };
        let extra = format!(" {o}");
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; \
             media-src 'self' blob:{extra}; connect-src 'self'{extra}; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'; form-action 'self'"
        );
        Self { csp: csp.into() }
    }

    pub fn content_security_policy(&self) -> &str {
        &self.csp
    }

    /// The headers for a response, HSTS included when the request came over TLS.
    pub fn headers(&self, tls: bool) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (names::CSP, &*self.csp),
            (names::NOSNIFF, "nosniff"),
            (names::FRAME_OPTIONS, "DENY"),
            (names::REFERRER_POLICY, "no-referrer"),
        ]
        .into_iter()
        .chain(tls.then_some((names::HSTS, HSTS)))
    }

    /// Adds the headers a response does not set itself (a route may set a stricter one).
    pub fn apply(&self, headers: &mut Vec<(String, String)>, tls: bool) {
        for (name, value) in self.headers(tls) {
            if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

/// Whether the browser reached us over TLS: our public URL is `https` (a TLS proxy in
/// front, or Cloudflare), or a proxy we trust says so in `X-Forwarded-Proto`. Pass
/// `forwarded_proto` only when such a proxy is configured: otherwise it is the client's
/// to write.
pub fn over_tls(public_url: Option<&str>, forwarded_proto: Option<&str>) -> bool {
    // The last entry is the one the nearest proxy (ours) wrote.
    public_url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
        || forwarded_proto.and_then(|p| p.rsplit(',').next()).is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// `scheme://authority` of an absolute http(s) URL, or `None`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().filter(|a| !a.is_empty())?;
    // Nothing that could end the directive or the header.
    if authority.chars().any(|c| c.is_whitespace() || c == ';' || c == ',' || c == '\'' || c.is_control()) {
        return None;
    }
    Some(format!("{}://{authority}", scheme.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_is_strict_and_names_the_file_origin() {
        let plain = SecurityHeaders::default();
        assert_eq!(SecurityHeaders::with_file_origin(None), plain);
        assert_eq!(
            SecurityHeaders::with_file_origin(Some("https://x.test"))
                .content_security_policy()
                .replace(" https://x.test", ""),
            CONTENT_SECURITY_POLICY
        );
        let csp = plain.content_security_policy();
        assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let s3 = SecurityHeaders::with_file_origin(Some("https://files.example.com/bucket?x=1"));
        assert!(s3.content_security_policy().contains("connect-src 'self' https://files.example.com;"));
        assert!(s3.content_security_policy().contains("img-src 'self' data: blob: https://files.example.com;"));
        for bad in ["origin", "", "ftp://x", "https://a;script-src *", "https://"] {
            assert_eq!(SecurityHeaders::with_file_origin(Some(bad)), plain, "{bad}");
        }
    }

    #[test]
    fn hsts_only_over_tls() {
        let h = SecurityHeaders::default();
        assert!(!h.headers(false).any(|(k, _)| k == names::HSTS));
        assert!(h.headers(true).any(|(k, v)| k == names::HSTS && v == HSTS));
        assert!(over_tls(Some("https://chat.example.com"), None));
        assert!(!over_tls(Some("http://127.0.0.1:8080"), None));
        assert!(over_tls(None, Some("https")));
        assert!(over_tls(None, Some("http, https")));
        assert!(!over_tls(None, Some("https, http")));
        assert!(!over_tls(None, Some("httpsx")));
    }

    #[test]
    fn apply_keeps_what_a_route_set() {
        let mut headers = vec![("Referrer-Policy".to_owned(), "same-origin".to_owned())];
        SecurityHeaders::default().apply(&mut headers, false);
        assert_eq!(headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(names::REFERRER_POLICY)).count(), 1);
        assert_eq!(headers.len(), 4);
    }
}
