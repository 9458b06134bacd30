//! A real OpenID Provider for the single sign-on suite: panva's `oidc-provider` (npm,
//! unmodified, pinned in `tests/oidc/package-lock.json`) run by `tests/oidc/provider.mjs` on a
//! free loopback port. `cargo xtask test` installs it and names its directory in
//! `OCOMMS_OIDC_NODE`; `node` must be on the PATH.
//!
//! The provider has one confidential client (registered `client_secret_basic`; the token
//! endpoint takes `client_secret_post` from it as well), requires PKCE with S256, serves the
//! scopes `openid email profile` and grants consent by itself. Any login name signs in with
//! any password: `sub` is stable per login, `email` is the lowercased login, `email_verified`
//! is false for logins starting with `unverified`, `name` is the login's local part; the ID
//! token carries them all. The issuer is `http://127.0.0.1:PORT`, without a trailing slash.
//!
//! A redirect URI written with a `*` port ([`ANY_PORT_CALLBACK`]) matches that path on any
//! loopback port (RFC 8252 loopback matching), so the provider can start before the host
//! whose configuration names it.
//!
//! [`Browser`] drives a sign-in without a browser: it follows redirects by hand, keeps the
//! cookies of both servers and fills in the provider's HTML forms.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::workspace_root;

/// Our callback on any loopback port.
pub const ANY_PORT_CALLBACK: &str = "http://127.0.0.1:*/api/v1/auth/oidc/callback";
/// Our web client's root on any loopback port (a post-logout redirect URI).
pub const ANY_PORT_ROOT: &str = "http://127.0.0.1:*/";
/// The password typed into the provider's login form (any password is accepted).
const PROVIDER_PASSWORD: &str = "any password will do";
/// Redirects and form posts one flow may take before it is called a loop.
const MAX_HOPS: usize = 30;

pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`, no trailing slash; discovery is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Also holds the process's stdin: when the test process dies, the provider sees EOF and
    /// exits.
    _child: tokio::process::Child,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl OidcProvider {
    /// Starts the provider with one client. `redirect_uri` and `post_logout_uri` may each list
    /// several URIs separated by commas; a `*` port matches any loopback port.
    pub async fn start(
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        post_logout_uri: &str,
    ) -> OidcProvider {
        let dir = std::env::var_os("OCOMMS_OIDC_NODE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("tests/oidc"));
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "no oidc-provider under {}: run the tests with `cargo xtask test`, which installs it",
            dir.display()
        );
        let mut child = tokio::process::Command::new("node")
            .arg(dir.join("provider.mjs"))
            .args([
                "PORT=0".to_owned(),
                format!("CLIENT_ID={client_id}"),
                format!("CLIENT_SECRET={client_secret}"),
                format!("REDIRECT_URI={redirect_uri}"),
                format!("POST_LOGOUT_REDIRECT_URI={post_logout_uri}"),
                "EXIT_ON_STDIN_EOF=1".to_owned(),
            ])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start node {}: {e}", dir.join("provider.mjs").display()));
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), stdout.next_line()).await;
        let issuer = match ready {
            Ok(Ok(Some(line))) if line.starts_with("ready http://") => line["ready ".len()..].trim().to_owned(),
            other => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                panic!("the OpenID provider did not start ({other:?}); its log:\n{}", log.lock().unwrap());
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        OidcProvider {
            issuer,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            _child: child,
            log,
            http: reqwest::Client::new(),
        }
    }

    /// What the provider wrote to stderr (errors it answered with, among others).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A new RS256 key signs from now on; the JWKS publishes it first and keeps the previous
    /// keys. Same process, port and issuer; sessions and codes survive. The new key's kid.
    pub async fn rotate_keys(&self) -> String {
        self.rotate("/test/rotate").await
    }

    /// As [`rotate_keys`](Self::rotate_keys), but the JWKS drops every previous key.
    pub async fn rotate_keys_retiring_old(&self) -> String {
        self.rotate("/test/rotate?retire=1").await
    }

    async fn rotate(&self, path: &str) -> String {
        let body = self.test_call(self.http.post(format!("{}{path}", self.issuer))).await;
        body["kid"].as_str().expect("a kid").to_owned()
    }

    /// Sets some of the claims `login` signs in with from now on, e.g.
    /// `json!({"email": "new@example.com"})` keeps its `sub` and changes its address; answers
    /// the claims.
    pub async fn set_account(&self, login: &str, claims: serde_json::Value) -> serde_json::Value {
        let mut body = claims;
        body["login"] = login.into();
        self.test_call(self.http.post(format!("{}/test/accounts", self.issuer)).json(&body)).await
    }

    async fn test_call(&self, req: reqwest::RequestBuilder) -> serde_json::Value {
        let r = req.send().await.expect("reach the OpenID provider");
        let status = r.status();
        let body: serde_json::Value = r.json().await.expect("a JSON answer from the OpenID provider");
        assert!(status.is_success(), "the OpenID provider answered {status}: {body}\n{}", self.log());
        body
    }

    /// Signs in as `login` in a fresh browser: GET `start_url` (our host's
    /// `/api/v1/auth/oidc/start`, or any URL that leads to the provider), through the
    /// provider's login form, then GET the URL the provider sends back to and return that
    /// answer unfollowed (our callback's redirect and its Set-Cookie). `client` must not follow
    /// redirects (`redirect(Policy::none())`); it needs no cookie store.
    pub async fn sign_in(&self, client: &reqwest::Client, start_url: &str, login: &str) -> reqwest::Response {
        Browser::with_client(client.clone()).sign_in(self, start_url, login).await
    }

    /// As [`sign_in`](Self::sign_in), but the user cancels at the provider: the provider sends
    /// `error=access_denied` to our callback, whose answer is returned.
    pub async fn cancel_sign_in(&self, client: &reqwest::Client, start_url: &str) -> reqwest::Response {
        Browser::with_client(client.clone()).drive(self, start_url, Flow::Cancel).await
    }
}

/// A browser without a renderer: one cookie jar for our host and the provider (cookies do
/// not depend on ports, as in a browser; `Secure` is ignored, everything is plain loopback
/// HTTP), redirects followed by hand, the provider's forms filled in.
pub struct Browser {
    client: reqwest::Client,
    jar: Vec<Cookie>,
    /// Where the provider last sent this browser back to (our callback, with its query).
    last_callback: Option<String>,
}

#[derive(Debug, Clone)]
struct Cookie {
    host: String,
    name: String,
    value: String,
    path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow<'a> {
    SignIn(&'a str),
    /// As `SignIn`, stopping at the provider's redirect back, which is not followed.
    SignInUntilCallback(&'a str),
    Cancel,
    SignOut,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Browser::with_client(client)
    }

    /// `client` must not follow redirects.
    pub fn with_client(client: reqwest::Client) -> Browser {
        Browser { client, jar: Vec::new(), last_callback: None }
    }

    /// A cookie this browser holds (the last set under that name, any path).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.iter().rev().find(|c| c.name == name).map(|c| c.value.clone())
    }

    /// As [`OidcProvider::sign_in`], keeping this browser's cookies: if the provider already
    /// has a session for it, no login form is shown and `login` is not used.
    pub async fn sign_in(&mut self, provider: &OidcProvider, start_url: &str, login: &str) -> reqwest::Response {
        self.drive(provider, start_url, Flow::SignIn(login)).await
    }

    /// The URL the provider last sent this browser back to (our callback and its query).
    pub fn last_callback_url(&self) -> Option<String> {
        self.last_callback.clone()
    }

    /// Signs in at the provider but stops at its redirect back: the callback URL, not visited.
    pub async fn authorization_redirect(&mut self, provider: &OidcProvider, start_url: &str, login: &str) -> String {
        self.drive(provider, start_url, Flow::SignInUntilCallback(login)).await;
        self.last_callback.clone().expect("the provider sent back to the callback")
    }

    /// A GET with this browser's cookies, not followed.
    pub async fn follow(&mut self, url: &str) -> reqwest::Response {
        self.send(reqwest::Method::GET, url, None).await
    }

    /// RP-initiated logout: GET `url` (the provider's end-session URL with `client_id` and
    /// `post_logout_redirect_uri`, or one of ours that leads there), confirm the provider's
    /// sign-out form, and return the provider's redirect out (its Location is the
    /// post-logout redirect URI), unfollowed. A URL that never reaches the provider: its answer.
    pub async fn sign_out(&mut self, provider: &OidcProvider, url: &str) -> reqwest::Response {
        self.drive(provider, url, Flow::SignOut).await
    }

    async fn drive(&mut self, provider: &OidcProvider, start_url: &str, flow: Flow<'_>) -> reqwest::Response {
        let issuer = origin(&provider.issuer);
        let mut next = (reqwest::Method::GET, start_url.to_owned(), None::<Vec<(String, String)>>);
        let mut at_provider = false;
        let mut trail = Vec::new();
        for _ in 0..MAX_HOPS {
            let (method, url, form) = next;
            trail.push(format!("{method} {url}"));
            let r = self.send(method, &url, form.as_deref()).await;
            let here_provider = origin(&url) == issuer;
            at_provider |= here_provider;
            if r.status().is_redirection() {
                let location = r
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("{} from {url} without a Location", r.status()));
                let target = resolve(&url, location);
                trail.push(format!("  -> {} {target}", r.status()));
                if at_provider && origin(&target) != issuer {
                    // Leaving the provider: back to us.
                    if flow == Flow::SignOut {
                        return r;
                    }
                    self.last_callback = Some(target.clone());
                    if matches!(flow, Flow::SignInUntilCallback(_)) {
                        return r;
                    }
                    return self.send(reqwest::Method::GET, &target, None).await;
                }
                next = (reqwest::Method::GET, target, None);
                continue;
            }
            if !here_provider {
                // Our host answered without sending us to the provider.
                return r;
            }
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            let wanted = match flow {
                Flow::SignIn(_) | Flow::SignInUntilCallback(_) => "/login",
                Flow::Cancel => "/abort",
                Flow::SignOut => "",
            };
            let Some(page_form) = forms(&body).into_iter().find(|f| f.action.ends_with(wanted)) else {
                panic!(
                    "the OpenID provider answered {status} without the form this flow needs.\n\
                     steps:\n{}\npage:\n{body}\nprovider log:\n{}",
                    trail.join("\n"),
                    provider.log()
                );
            };
            let mut fields = page_form.fields;
            if let Flow::SignIn(login) | Flow::SignInUntilCallback(login) = flow {
                set_field(&mut fields, "login", login);
                set_field(&mut fields, "password", PROVIDER_PASSWORD);
            }
            let action = if page_form.action.is_empty() { url.clone() } else { resolve(&url, &page_form.action) };
            next = (reqwest::Method::POST, action, Some(fields));
        }
        panic!("more than {MAX_HOPS} steps:\n{}\nprovider log:\n{}", trail.join("\n"), provider.log());
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(String, String)]>,
    ) -> reqwest::Response {
        let (host, path) = host_and_path(url);
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|c| c.host == host && path_matches(&path, &c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        let mut req = self.client.request(method.clone(), url);
        if !cookies.is_empty() {
            req = req.header(COOKIE, cookies.join("; "));
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        assert!(
            reqwest::Url::parse(url).is_ok_and(|u| &u == r.url()),
            "the client followed a redirect from {url} to {}: build it with redirect(Policy::none())",
            r.url()
        );
        for set in r.headers().get_all(SET_COOKIE) {
            if let Ok(set) = set.to_str() {
                self.store(&host, &path, set);
            }
        }
        r
    }

    fn store(&mut self, host: &str, request_path: &str, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|kv| kv.split_once('=')) else { return };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut path = None;
        let mut expired = false;
        for attr in parts {
            let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "path" if val.trim().starts_with('/') => path = Some(val.trim().to_owned()),
                "max-age" => expired |= val.trim().parse::<i64>().is_ok_and(|s| s <= 0),
                "expires" => expired |= val.contains("1970"),
                _ => {}
            }
        }
        // RFC 6265 default-path: the request path up to its last '/'.
        let path = path.unwrap_or_else(|| {
            let p = request_path.split('?').next().unwrap_or("/");
            match p.rfind('/') {
                Some(0) | None => "/".to_owned(),
                Some(i) => p[..i].to_owned(),
            }
        });
        self.jar.retain(|c| !(c.host == host && c.name == name && c.path == path));
        if !expired {
            self.jar.push(Cookie { host: host.to_owned(), name, value, path });
        }
    }
}

fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

fn resolve(base: &str, reference: &str) -> String {
    reqwest::Url::parse(base)
        .and_then(|b| b.join(reference))
        .unwrap_or_else(|e| panic!("resolve {reference} against {base}: {e}"))
        .to_string()
}

/// The host (without port: cookies ignore ports) and the path with query of a URL.
fn host_and_path(url: &str) -> (String, String) {
    let u = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("a URL: {url}: {e}"));
    (u.host_str().unwrap_or_default().to_owned(), u.path().to_owned())
}

/// RFC 6265 path-match.
fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || request.starts_with(cookie) && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/'))
}

/// An HTML form: its action (entities decoded, possibly relative) and the fields it would
/// submit (inputs with a name, except buttons).
#[derive(Debug)]
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

/// The forms of a page, read with a small tag scanner (enough for the provider's pages).
fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| at + i) {
        let (attrs, body_start) = tag(html, start + "<form".len());
        let end = lower[body_start..].find("</form").map_or(html.len(), |i| body_start + i);
        let mut fields = Vec::new();
        let mut pos = body_start;
        while let Some(i) = lower[pos..end].find("<input").map(|i| pos + i) {
            let (input, next) = tag(html, i + "<input".len());
            pos = next;
            let kind = attr(&input, "type").unwrap_or_default().to_ascii_lowercase();
            if let Some(name) = attr(&input, "name")
                && !matches!(kind.as_str(), "submit" | "button" | "image" | "reset")
            {
                fields.push((name, attr(&input, "value").unwrap_or_default()));
            }
        }
        out.push(Form { action: attr(&attrs, "action").unwrap_or_default(), fields });
        at = end.max(start + 1);
    }
    out
}

/// The attributes of the tag whose name ends at `from`, and the offset after its `>`.
fn tag(html: &str, from: usize) -> (Vec<(String, String)>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = from;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, i);
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let value_start = i + 1;
                i = value_start;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                value = decode_entities(&html[value_start..i.min(bytes.len())]);
                i += 1;
            } else {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[value_start..i]);
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

fn attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_provider_forms() {
        let page = r#"<p>x</p><form method="post" action="/interaction/a&amp;b/login">
<input name="login" autofocus><INPUT type=password name='password'>
<input type="hidden" name="xsrf" value="&#x41;&quot;1"/><button type="submit">Go</button>
</form><form id="op.logoutForm" method="post" action="http://127.0.0.1:1/session/end/confirm"><input type="hidden" name="xsrf" value="abc"/><input type="hidden" name="logout" value="yes"/><input type="submit" name="s" value="x"></form>"#;
        let f = forms(page);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].action, "/interaction/a&b/login");
        assert_eq!(
            f[0].fields,
            [("login".into(), String::new()), ("password".into(), String::new()), ("xsrf".into(), "A\"1".into())]
        );
        assert_eq!(f[1].action, "http://127.0.0.1:1/session/end/confirm");
        assert_eq!(f[1].fields, [("xsrf".into(), "abc".into()), ("logout".into(), "yes".into())]);
    }

    #[test]
    fn keeps_cookies_by_host_and_path() {
        let mut b = Browser::new();
        b.store("127.0.0.1", "/auth/x", "_session=s1; path=/; httponly");
        b.store("127.0.0.1", "/interaction/u", "_interaction=i; path=/interaction/u; samesite=lax");
        b.store("127.0.0.1", "/api/v1/auth/oidc/start", "ocomms_oidc=st; Path=/api/v1/auth/oidc; HttpOnly");
        assert_eq!(b.cookie("_session").as_deref(), Some("s1"));
        assert!(path_matches("/interaction/u/login", "/interaction/u"));
        assert!(!path_matches("/interaction/uv", "/interaction/u"));
        assert!(path_matches("/api/v1/auth/oidc/callback", "/api/v1/auth/oidc"));
        b.store("127.0.0.1", "/x", "_session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(b.cookie("_session"), None);
        b.store("127.0.0.1", "/x", "ocomms_oidc=; Path=/api/v1/auth/oidc; Max-Age=0");
        assert_eq!(b.cookie("ocomms_oidc"), None);
        assert_eq!(b.cookie("_interaction").as_deref(), Some("i"));
    }
}
