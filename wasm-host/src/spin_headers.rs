//! The `spin-*` request headers Spin's HTTP trigger gives a component, set here the same way,
//! so a component that reads them behaves alike on Spin and on this host. Headers a client
//! sends under these names are dropped first: only the host may set them.

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::manifest::Route;

/// Every header of the contract starts with this; clients may not send any.
pub const PREFIX: &str = "spin-";

/// Where a request arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The trigger route that matched.
    pub route: &'a Route,
    pub path: &'a str,
    /// The path with its query, as the client sent it.
    pub path_and_query: &'a str,
    /// The `Host` header.
    pub host: Option<&'a str>,
    pub client: Option<SocketAddr>,
}

/// The headers, as Spin computes them (its base path is always `/`): the wildcard's match
/// (`spin-path-info`: "" for `/api`, "/" for `/api/`), the route as written, without its
/// `/...`, and one `spin-path-match-<name>` per `:name` parameter.
pub fn for_request(a: &Arrival<'_>) -> Vec<(String, String)> {
    let route = a.route.to_string();
    let captures = a.route.captures(a.path).unwrap_or_default();
    let mut headers = vec![
        ("spin-path-info".to_owned(), captures.path_info),
        ("spin-matched-route".to_owned(), route.clone()),
        ("spin-base-path".to_owned(), "/".to_owned()),
        ("spin-raw-component-route".to_owned(), route),
        ("spin-component-route".to_owned(), a.route.without_wildcard()),
    ];
    for (name, value) in captures.params {
        headers.push((format!("spin-path-match-{name}"), value));
    }
    if let Some(host) = a.host {
        headers.push(("spin-full-url".to_owned(), format!("http://{host}{}", a.path_and_query)));
    }
    if let Some(client) = a.client {
        headers.push(("spin-client-addr".to_owned(), client.to_string()));
    }
    headers
}

/// Replaces whatever `spin-*` headers the client sent with the host's.
pub fn apply(headers: &mut HeaderMap, a: &Arrival<'_>) {
    let forged: Vec<HeaderName> = headers.keys().filter(|k| k.as_str().starts_with(PREFIX)).cloned().collect();
    for name in forged {
        headers.remove(name);
    }
    for (name, value) in for_request(a) {
        // Names are ours (parameter names are checked when the manifest is read); values come
        // from a path, a Host header or an address: all valid header text.
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival<'a>(route: &'a Route, path: &'a str, path_and_query: &'a str) -> Arrival<'a> {
        Arrival { route, path, path_and_query, host: Some("127.0.0.1:3000"), client: "127.0.0.1:54321".parse().ok() }
    }

    fn get<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
        h.iter().find(|(n, _)| *n == name).map_or("<absent>", |(_, v)| v.as_str())
    }

    #[test]
    fn a_wildcard_route_as_spin_describes_it() {
        let route = Route::parse("/api/...").unwrap();
        let h = for_request(&arrival(&route, "/api/v1/me", "/api/v1/me?x=1"));
        assert_eq!(get(&h, "spin-full-url"), "http://127.0.0.1:3000/api/v1/me?x=1");
        assert_eq!(get(&h, "spin-path-info"), "/v1/me");
        assert_eq!(get(&h, "spin-matched-route"), "/api/...");
        assert_eq!(get(&h, "spin-raw-component-route"), "/api/...");
        assert_eq!(get(&h, "spin-component-route"), "/api");
        assert_eq!(get(&h, "spin-base-path"), "/");
        assert_eq!(get(&h, "spin-client-addr"), "127.0.0.1:54321");
        assert_eq!(get(&for_request(&arrival(&route, "/api", "/api")), "spin-path-info"), "");
        assert_eq!(get(&for_request(&arrival(&route, "/api/", "/api/")), "spin-path-info"), "/");
        let everything = Route::parse("/...").unwrap();
        let h = for_request(&arrival(&everything, "/a/b", "/a/b"));
        assert_eq!((get(&h, "spin-path-info"), get(&h, "spin-component-route")), ("/a/b", ""));
    }

    #[test]
    fn an_exact_route_has_no_path_info() {
        let route = Route::parse("/health").unwrap();
        let h = for_request(&Arrival { host: None, client: None, ..arrival(&route, "/health", "/health") });
        assert_eq!(get(&h, "spin-path-info"), "");
        assert_eq!(get(&h, "spin-component-route"), "/health");
        assert_eq!(get(&h, "spin-full-url"), "<absent>", "no Host header, no URL");
        assert_eq!(get(&h, "spin-client-addr"), "<absent>");
    }

    #[test]
    fn parameters_are_path_matches() {
        let route = Route::parse("/users/:id/files/...").unwrap();
        let h = for_request(&arrival(&route, "/users/42/files/a/b", "/users/42/files/a/b"));
        assert_eq!(get(&h, "spin-path-match-id"), "42");
        assert_eq!(get(&h, "spin-path-info"), "/a/b");
        assert_eq!(get(&h, "spin-component-route"), "/users/:id/files");
        assert_eq!(get(&h, "spin-matched-route"), "/users/:id/files/...");
    }

    #[test]
    fn headers_a_client_forges_are_replaced() {
        let route = Route::parse("/api/...").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("spin-client-addr", HeaderValue::from_static("10.9.9.9:1"));
        headers.insert("spin-anything", HeaderValue::from_static("x"));
        headers.insert("x-other", HeaderValue::from_static("kept"));
        apply(&mut headers, &arrival(&route, "/api/x", "/api/x"));
        assert_eq!(headers.get_all("spin-client-addr").iter().collect::<Vec<_>>(), ["127.0.0.1:54321"]);
        assert!(headers.get("spin-anything").is_none());
        assert_eq!(headers.get("x-other").map(HeaderValue::as_bytes), Some(&b"kept"[..]));
    }
}
