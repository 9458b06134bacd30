//! OpenID Connect single sign-on, the relying party's pure parts: the provider's metadata,
//! the authorization request (code flow with PKCE S256, state and nonce), the token
//! request, and ID-token validation (signature against the provider's JWKS, issuer,
//! audience, expiry, nonce) by the `openidconnect` crate. The HTTP exchanges themselves go
//! through the `Outbound` port (routes::sso), so every runtime makes them the same way.

use base64::Engine as _;
use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier};
use serde::Deserialize;

/// What the operator configured (`oidc_issuer`, `oidc_client_id`, `oidc_client_secret`,
/// `oidc_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer exactly as the provider names itself (its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The button's label: "Sign in with {name}".
    pub name: String,
}

/// The parts of the provider's discovery document this flow uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    #[error("the provider's discovery document is not usable: {0}")]
    Metadata(String),
    #[error("the provider's discovery document names issuer {found:?}, not the configured {configured:?}")]
    IssuerMismatch { configured: String, found: String },
    #[error("the provider's token answer is not usable: {0}")]
    TokenResponse(String),
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
    #[error("the ID token carries no email address the provider has verified")]
    NoVerifiedEmail,
}

/// Where the discovery document is.
pub fn discovery_url(issuer: &str) -> String {
    format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
}

/// Parses the discovery document and checks it is the configured issuer's (OpenID
/// Connect Discovery §4.3: a mismatch must not be used).
pub fn parse_metadata(config: &OidcConfig, body: &[u8]) -> Result<Metadata, OidcError> {
    let m: Metadata = serde_json::from_slice(body).map_err(|e| OidcError::Metadata(e.to_string()))?;
    if m.issuer.trim_end_matches('/') != config.issuer.trim_end_matches('/') {
        return Err(OidcError::IssuerMismatch { configured: config.issuer.clone(), found: m.issuer });
    }
    for url in [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(OidcError::Metadata(format!("{url:?} is not an http(s) URL")));
        }
    }
    Ok(m)
}

/// The secrets of one login attempt, drawn from the caller's randomness.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl Attempt {
    pub fn new(random: [[u8; 32]; 3]) -> Self {
        let b64 = |b: &[u8; 32]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        Self { state: b64(&random[0]), nonce: b64(&random[1]), verifier: b64(&random[2]) }
    }
}

/// The provider's authorization URL for this attempt.
pub fn authorization_url(config: &OidcConfig, meta: &Metadata, attempt: &Attempt, redirect_uri: &str) -> String {
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(attempt.verifier.clone()));
    let params = [
        ("response_type", "code"),
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", "openid email profile"),
        ("state", attempt.state.as_str()),
        ("nonce", attempt.nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let sep = if meta.authorization_endpoint.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", meta.authorization_endpoint, form(&params))
}

/// The token request: its body and `Authorization` header (`client_secret_basic`, the
/// method every provider must support).
pub fn token_request(config: &OidcConfig, code: &str, verifier: &str, redirect_uri: &str) -> (String, String) {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
        ("client_id", config.client_id.as_str()),
    ]);
    let credentials = format!("{}:{}", encode(&config.client_id), encode(&config.client_secret));
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
    (body, basic)
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The ID token of the token endpoint's answer.
pub fn id_token_of(status: u16, body: &[u8]) -> Result<String, OidcError> {
    let answer: TokenAnswer =
        serde_json::from_slice(body).map_err(|e| OidcError::TokenResponse(format!("HTTP {status}: {e}")))?;
    if let Some(e) = answer.error {
        let detail = answer.error_description.map(|d| format!(": {d}")).unwrap_or_default();
        return Err(OidcError::TokenResponse(format!("{e}{detail}")));
    }
    answer.id_token.ok_or_else(|| OidcError::TokenResponse(format!("HTTP {status} without an id_token")))
}

/// Whom the provider vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// Only an address the provider says it verified.
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Validates the ID token: signature by a key of `jwks` (RS256/ES256 and the others the
/// crate supports; never `none` or an HMAC keyed by the public secret), issuer, audience
/// (this client, and no other untrusted one), expiry against `now_ms`, and `nonce`.
pub fn verify(
    config: &OidcConfig,
    meta: &Metadata,
    jwks: &[u8],
    id_token: &str,
    nonce: &str,
    now_ms: i64,
) -> Result<Identity, OidcError> {
    let bad = |e: String| OidcError::IdToken(e);
    let keys: CoreJsonWebKeySet = serde_json::from_slice(jwks).map_err(|e| bad(format!("JWKS: {e}")))?;
    let issuer = IssuerUrl::new(meta.issuer.clone()).map_err(|e| bad(format!("issuer: {e}")))?;
    let now = chrono_from_ms(now_ms).ok_or_else(|| bad("the clock is out of range".into()))?;
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(config.client_id.clone()),
        ClientSecret::new(config.client_secret.clone()),
        issuer,
        keys,
    )
    .set_time_fn(move || now);
    let token: CoreIdToken = id_token.parse().map_err(|e| bad(format!("{e}")))?;
    let claims = token.claims(&verifier, &Nonce::new(nonce.to_string())).map_err(|e| bad(e.to_string()))?;
    let email = match (claims.email(), claims.email_verified()) {
        (Some(e), Some(true)) => Some(e.as_str().to_string()),
        _ => None,
    };
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
    Ok(Identity { issuer: meta.issuer.clone(), subject: claims.subject().as_str().to_string(), email, name })
}

fn chrono_from_ms(ms: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(ms)
}

/// The provider's logout URL, returning to `after`.
pub fn logout_url(config: &OidcConfig, meta: &Metadata, after: &str) -> Option<String> {
    let end = meta.end_session_endpoint.as_ref()?;
    let sep = if end.contains('?') { '&' } else { '?' };
    Some(format!(
        "{end}{sep}{}",
        form(&[("client_id", config.client_id.as_str()), ("post_logout_redirect_uri", after)])
    ))
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// `application/x-www-form-urlencoded` (RFC 6749 §2.3.1 for the Basic credentials too).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: "https://id.example".into(),
            client_id: "ocomms".into(),
            client_secret: "s3cret:/".into(),
            name: "Example".into(),
        }
    }

    fn meta() -> Metadata {
        parse_metadata(
            &config(),
            br#"{"issuer":"https://id.example","authorization_endpoint":"https://id.example/auth",
                "token_endpoint":"https://id.example/token","jwks_uri":"https://id.example/jwks",
                "end_session_endpoint":"https://id.example/logout"}"#,
        )
        .unwrap()
    }

    #[test]
    fn metadata_must_be_the_configured_issuers() {
        let other = br#"{"issuer":"https://evil.example","authorization_endpoint":"https://e/a",
                         "token_endpoint":"https://e/t","jwks_uri":"https://e/j"}"#;
        assert!(matches!(parse_metadata(&config(), other), Err(OidcError::IssuerMismatch { .. })));
        assert!(parse_metadata(&config(), b"{}").is_err());
        assert_eq!(meta().end_session_endpoint.as_deref(), Some("https://id.example/logout"));
    }

    #[test]
    fn the_authorization_url_carries_state_nonce_and_an_s256_challenge() {
        let a = Attempt::new([[1; 32], [2; 32], [3; 32]]);
        let url = authorization_url(&config(), &meta(), &a, "https://chat.example/api/v1/auth/oidc/callback");
        assert!(url.starts_with("https://id.example/auth?response_type=code&client_id=ocomms&"), "{url}");
        assert!(url.contains("redirect_uri=https%3A%2F%2Fchat.example%2Fapi%2Fv1%2Fauth%2Foidc%2Fcallback"));
        assert!(url.contains(&format!("state={}", a.state)) && url.contains(&format!("nonce={}", a.nonce)));
        assert!(url.contains("code_challenge_method=S256") && !url.contains(&a.verifier), "{url}");
        assert!(url.contains("scope=openid%20email%20profile"));
    }

    #[test]
    fn the_token_request_sends_the_verifier_and_basic_credentials() {
        let (body, auth) = token_request(&config(), "c0de", "v3r", "https://c/cb");
        assert!(body.contains("grant_type=authorization_code&code=c0de&") && body.contains("code_verifier=v3r"));
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim_start_matches("Basic ")).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "ocomms:s3cret%3A%2F");
    }

    #[test]
    fn token_errors_are_reported() {
        assert_eq!(id_token_of(200, br#"{"id_token":"a.b.c"}"#).unwrap(), "a.b.c");
        let e = id_token_of(400, br#"{"error":"invalid_grant","error_description":"PKCE failed"}"#).unwrap_err();
        assert_eq!(e, OidcError::TokenResponse("invalid_grant: PKCE failed".into()));
        assert!(id_token_of(502, b"<html>").is_err());
    }

    #[test]
    fn a_token_signed_with_no_key_of_the_set_is_refused() {
        // alg "none" and garbage are refused before any key is looked at.
        let none = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUifQ.";
        let r = verify(&config(), &meta(), br#"{"keys":[]}"#, none, "n", 0);
        assert!(matches!(r, Err(OidcError::IdToken(_))), "{r:?}");
        assert!(verify(&config(), &meta(), b"not json", "a.b.c", "n", 0).is_err());
    }

    /// ID tokens signed for real, with test-only RSA keys.
    mod signed {
        use openidconnect::core::{CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
        use openidconnect::{
            Audience, EmptyAdditionalClaims, EndUserEmail, JsonWebKeyId, PrivateSigningKey as _, StandardClaims,
            SubjectIdentifier,
        };

        use super::*;

        const NOW_MS: i64 = 1_800_000_000_000;

        fn key(which: &str) -> CoreRsaPrivateSigningKey {
            let pem = match which {
                "a" => include_str!("testdata/oidc-key-a.pem"),
                _ => include_str!("testdata/oidc-key-b.pem"),
            };
            CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(format!("kid-{which}")))).unwrap()
        }

        fn jwks(keys: &[&str]) -> Vec<u8> {
            let set = CoreJsonWebKeySet::new(keys.iter().map(|k| key(k).as_verification_key()).collect());
            serde_json::to_vec(&set).unwrap()
        }

        struct Token<'a> {
            signer: &'a str,
            audience: &'a str,
            nonce: &'a str,
            expires_ms: i64,
            verified: bool,
        }

        fn good() -> Token<'static> {
            Token { signer: "a", audience: "ocomms", nonce: "n-1", expires_ms: NOW_MS + 600_000, verified: true }
        }

        fn sign(t: &Token<'_>) -> String {
            let at = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let standard = StandardClaims::new(SubjectIdentifier::new("sub-42".into()))
                .set_email(Some(EndUserEmail::new("Ann@Example.com".into())))
                .set_email_verified(Some(t.verified));
            let claims = CoreIdTokenClaims::new(
                IssuerUrl::new("https://id.example".into()).unwrap(),
                vec![Audience::new(t.audience.into())],
                at(t.expires_ms),
                at(NOW_MS - 1_000),
                standard,
                EmptyAdditionalClaims {},
            )
            .set_nonce(Some(Nonce::new(t.nonce.into())));
            CoreIdToken::new(claims, &key(t.signer), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None)
                .unwrap()
                .to_string()
        }

        fn check(t: &Token<'_>, keys: &[&str]) -> Result<Identity, OidcError> {
            verify(&config(), &meta(), &jwks(keys), &sign(t), "n-1", NOW_MS)
        }

        #[test]
        fn a_good_token_names_the_subject_and_its_verified_address() {
            let id = check(&good(), &["b", "a"]).unwrap();
            assert_eq!(id.subject, "sub-42");
            assert_eq!(id.issuer, "https://id.example");
            assert_eq!(id.email.as_deref(), Some("Ann@Example.com"));
        }

        #[test]
        fn an_unverified_address_is_not_passed_on() {
            let id = check(&Token { verified: false, ..good() }, &["a"]).unwrap();
            assert_eq!(id.email, None);
        }

        #[test]
        fn wrong_signer_audience_nonce_or_time_is_refused() {
            assert!(check(&good(), &["b"]).is_err(), "a key the provider does not publish");
            assert!(check(&Token { audience: "someone-else", ..good() }, &["a"]).is_err(), "another client's");
            assert!(check(&Token { nonce: "n-2", ..good() }, &["a"]).is_err(), "another attempt's");
            assert!(check(&Token { expires_ms: NOW_MS - 1, ..good() }, &["a"]).is_err(), "expired");
            // A token altered after signing.
            let token = sign(&good());
            let mut parts: Vec<&str> = token.split('.').collect();
            let other = sign(&Token { verified: false, ..good() });
            parts[1] = other.split('.').nth(1).unwrap();
            let forged = parts.join(".");
            assert!(verify(&config(), &meta(), &jwks(&["a"]), &forged, "n-1", NOW_MS).is_err());
        }
    }

    #[test]
    fn logout_returns_to_us() {
        let url = logout_url(&config(), &meta(), "https://chat.example/").unwrap();
        assert_eq!(
            url,
            "https://id.example/logout?client_id=ocomms&post_logout_redirect_uri=https%3A%2F%2Fchat.example%2F"
        );
    }
}
