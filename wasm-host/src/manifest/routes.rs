//! HTTP trigger routes and request routing.

use std::fmt;

use super::HttpTrigger;

/// Where an HTTP trigger is mounted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// An exact path such as `/health` (a trailing `/` in the manifest is dropped, except for
    /// `/` itself).
    Exact(String),
    /// A wildcard route `/api/...`, stored without the `/...`: `"/api"`. `/...` is `Prefix("")`
    /// and matches every path.
    Prefix(String),
    /// `route = { private = true }`: reachable only by component-to-component calls, never
    /// from the network.
    Private,
}

/// Why a route string is refused. Each message quotes the route.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route {0:?} must start with `/` (e.g. `/api/...` or `/health`)")]
    NoLeadingSlash(String),
    #[error("route {0:?} must be a plain URL path (no whitespace, query or fragment)")]
    NotAPath(String),
    #[error("route {0:?}: `...` is only allowed as a final `/...` segment")]
    InnerWildcard(String),
    #[error(
        "route {0:?}: route parameters are not supported by wasm-host; use a `/prefix/...` \
         wildcard and read the path in the component"
    )]
    Parameter(String),
    #[error("route {0:?} contains an empty path segment")]
    EmptySegment(String),
}

impl Route {
    /// Parses a route string as written in the manifest.
    pub fn parse(route: &str) -> Result<Self, RouteError> {
        if !route.starts_with('/') {
            return Err(RouteError::NoLeadingSlash(route.to_owned()));
        }
        if route.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') {
            return Err(RouteError::NotAPath(route.to_owned()));
        }
        let (base, wildcard) = match route.strip_suffix("/...") {
            Some(base) => (base, true),
            None => (route, false),
        };
        let segments: Vec<&str> = base.split('/').skip(1).collect();
        for (i, segment) in segments.iter().enumerate() {
            if segment.contains("...") {
                return Err(RouteError::InnerWildcard(route.to_owned()));
            }
            if segment.starts_with(':') {
                return Err(RouteError::Parameter(route.to_owned()));
            }
            // Only an exact route may end in `/` (`/health/`, `/`).
            let trailing_slash = i + 1 == segments.len() && !wildcard;
            if segment.is_empty() && !trailing_slash {
                return Err(RouteError::EmptySegment(route.to_owned()));
            }
        }
        Ok(if wildcard {
            Route::Prefix(base.to_string())
        } else if base.len() > 1 {
            Route::Exact(base.trim_end_matches('/').to_string())
        } else {
            Route::Exact(base.to_string())
        })
    }

    /// Whether a request path is served by this route. `Exact("/a")` matches `/a` and `/a/`;
    /// `Prefix("/api")` matches `/api`, `/api/` and `/api/x/y` but not `/apix`; `Private` never
    /// matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Route::Exact(exact) => path == exact || (exact != "/" && path.strip_suffix('/') == Some(exact.as_str())),
            Route::Prefix(prefix) => match path.strip_prefix(prefix.as_str()) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            },
            Route::Private => false,
        }
    }

    pub fn is_private(&self) -> bool {
        matches!(self, Route::Private)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Exact(path) => f.write_str(path),
            Route::Prefix(prefix) => write!(f, "{prefix}/..."),
            Route::Private => f.write_str("{ private = true }"),
        }
    }
}

/// Picks the trigger serving `path`: an exact route beats any wildcard, and among wildcards the
/// longest prefix wins. Private routes never match. (Duplicate routes are rejected when the
/// manifest is parsed; should `triggers` hold some anyway, the first one wins.)
pub fn route<'a>(triggers: &'a [HttpTrigger], path: &str) -> Option<&'a HttpTrigger> {
    let mut best: Option<(usize, &HttpTrigger)> = None;
    for trigger in triggers {
        if !trigger.route.matches(path) {
            continue;
        }
        let rank = match &trigger.route {
            Route::Exact(_) => usize::MAX,
            Route::Prefix(prefix) => prefix.len(),
            Route::Private => continue,
        };
        if best.is_none_or(|(best_rank, _)| rank > best_rank) {
            best = Some((rank, trigger));
        }
    }
    best.map(|(_, trigger)| trigger)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(route: &str, component: &str) -> HttpTrigger {
        HttpTrigger {
            route: if route == "private" { Route::Private } else { Route::parse(route).expect("valid route") },
            component: component.to_string(),
        }
    }

    #[test]
    fn parse_routes() {
        assert_eq!(Route::parse("/..."), Ok(Route::Prefix(String::new())));
        assert_eq!(Route::parse("/api/..."), Ok(Route::Prefix("/api".into())));
        assert_eq!(Route::parse("/api/v1/..."), Ok(Route::Prefix("/api/v1".into())));
        assert_eq!(Route::parse("/"), Ok(Route::Exact("/".into())));
        assert_eq!(Route::parse("/health"), Ok(Route::Exact("/health".into())));
        assert_eq!(Route::parse("/health/"), Ok(Route::Exact("/health".into())));
        for bad in
            ["", "api", "api/...", "/api...", "/a/.../b", "//x", "/a//b", "/api//...", "/a b", "/a?b", "/users/:id"]
        {
            assert!(Route::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Route::parse("api/..."), Err(RouteError::NoLeadingSlash("api/...".into())));
        assert_eq!(Route::parse("/a?b"), Err(RouteError::NotAPath("/a?b".into())));
        assert_eq!(Route::parse("/a/.../b"), Err(RouteError::InnerWildcard("/a/.../b".into())));
        assert_eq!(Route::parse("/users/:id"), Err(RouteError::Parameter("/users/:id".into())));
        assert_eq!(Route::parse("/a//b"), Err(RouteError::EmptySegment("/a//b".into())));
    }

    #[test]
    fn display_round_trips() {
        for r in ["/...", "/api/...", "/health", "/"] {
            assert_eq!(Route::parse(r).expect("valid").to_string(), r);
        }
    }

    #[test]
    fn prefix_matching() {
        let api = Route::Prefix("/api".into());
        assert!(api.matches("/api"));
        assert!(api.matches("/api/"));
        assert!(api.matches("/api/x/y"));
        assert!(!api.matches("/apix"));
        assert!(!api.matches("/ap"));
        assert!(!api.matches("/"));
        let all = Route::Prefix(String::new());
        assert!(all.matches("/"));
        assert!(all.matches("/anything/at/all"));
    }

    #[test]
    fn exact_matching() {
        let health = Route::Exact("/health".into());
        assert!(health.matches("/health"));
        assert!(health.matches("/health/"));
        assert!(!health.matches("/health/x"));
        assert!(!health.matches("/healthz"));
        let root = Route::Exact("/".into());
        assert!(root.matches("/"));
        assert!(!root.matches("/x"));
        assert!(!Route::Private.matches("/"));
    }

    #[test]
    fn routing_precedence() {
        let triggers = vec![
            trigger("/...", "fallback"),
            trigger("/api/...", "api"),
            trigger("/api/rooms/...", "rooms"),
            trigger("/api/health", "health"),
            trigger("private", "internal"),
        ];
        let pick = |path| route(&triggers, path).map(|t| t.component.as_str());
        assert_eq!(pick("/"), Some("fallback"));
        assert_eq!(pick("/index.html"), Some("fallback"));
        assert_eq!(pick("/api"), Some("api"));
        assert_eq!(pick("/api/users/1"), Some("api"));
        assert_eq!(pick("/apix"), Some("fallback"));
        assert_eq!(pick("/api/rooms"), Some("rooms"));
        assert_eq!(pick("/api/rooms/42/messages"), Some("rooms"));
        assert_eq!(pick("/api/health"), Some("health"));
        assert_eq!(pick("/api/health/x"), Some("api"));
    }

    #[test]
    fn exact_beats_prefix_regardless_of_order() {
        let triggers = vec![trigger("/api/health", "health"), trigger("/api/health/...", "sub")];
        assert_eq!(route(&triggers, "/api/health").map(|t| t.component.as_str()), Some("health"));
        assert_eq!(route(&triggers, "/api/health/x").map(|t| t.component.as_str()), Some("sub"));
    }

    #[test]
    fn no_match() {
        let triggers = vec![trigger("/api/...", "api"), trigger("private", "internal")];
        assert!(route(&triggers, "/other").is_none());
        assert!(route(&[], "/").is_none());
    }
}
