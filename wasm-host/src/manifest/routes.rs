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
    /// A route with `:name` parameters, each matching one path segment, e.g.
    /// `/users/:id/...`; `raw` is the route as written.
    Pattern { raw: String, segments: Vec<RouteSegment>, wildcard: bool },
    /// `route = { private = true }`: reachable only by component-to-component calls, never
    /// from the network.
    Private,
}

/// One segment of a [`Route::Pattern`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RouteSegment {
    Exact(String),
    /// `:name`: any one non-empty segment, captured as `spin-path-match-<name>`.
    Param(String),
}

/// What a route captured from a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captures {
    /// `:name` parameters and their values, in route order.
    pub params: Vec<(String, String)>,
    /// What a trailing `/...` matched: `""` for `/api`, `/` for `/api/`, `/x/y` for `/api/x/y`.
    pub path_info: String,
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
    #[error("route {0:?}: a parameter is `:name` with letters, digits, `_` or `-`, each name used once")]
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
        let mut params: Vec<&str> = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            if segment.contains("...") {
                return Err(RouteError::InnerWildcard(route.to_owned()));
            }
            if let Some(name) = segment.strip_prefix(':') {
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                    && !params.iter().any(|p| p.eq_ignore_ascii_case(name));
                if !valid {
                    return Err(RouteError::Parameter(route.to_owned()));
                }
                params.push(name);
            }
            // Only an exact route may end in `/` (`/health/`, `/`).
            let trailing_slash = i + 1 == segments.len() && !wildcard;
            if segment.is_empty() && !trailing_slash {
                return Err(RouteError::EmptySegment(route.to_owned()));
            }
        }
        Ok(if !params.is_empty() {
            let segments = base
                .trim_end_matches('/')
                .split('/')
                .skip(1)
                .map(|s| match s.strip_prefix(':') {
                    Some(name) => RouteSegment::Param(name.to_ascii_lowercase()),
                    None => RouteSegment::Exact(s.to_owned()),
                })
                .collect();
            Route::Pattern { raw: route.to_owned(), segments, wildcard }
        } else if wildcard {
            Route::Prefix(base.to_string())
        } else if base.len() > 1 {
            Route::Exact(base.trim_end_matches('/').to_string())
        } else {
            Route::Exact(base.to_string())
        })
    }

    /// Whether a request path is served by this route. `Exact("/a")` matches `/a` and `/a/`;
    /// `Prefix("/api")` matches `/api`, `/api/` and `/api/x/y` but not `/apix`; a pattern's
    /// `:name` matches one non-empty segment; `Private` never matches.
    pub fn matches(&self, path: &str) -> bool {
        self.captures(path).is_some()
    }

    /// What this route captures from `path`, if it matches.
    pub fn captures(&self, path: &str) -> Option<Captures> {
        match self {
            Route::Exact(exact) => (path == exact || (exact != "/" && path.strip_suffix('/') == Some(exact.as_str())))
                .then(Captures::default),
            Route::Prefix(prefix) => match path.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    Some(Captures { params: Vec::new(), path_info: rest.to_owned() })
                }
                _ => None,
            },
            Route::Pattern { segments, wildcard, .. } => {
                let mut rest = path;
                let mut params = Vec::new();
                for segment in segments {
                    let after = rest.strip_prefix('/')?;
                    let (head, tail) = after.find('/').map_or((after, ""), |i| after.split_at(i));
                    match segment {
                        RouteSegment::Exact(s) if s == head => {}
                        RouteSegment::Param(name) if !head.is_empty() => params.push((name.clone(), head.to_owned())),
                        _ => return None,
                    }
                    rest = tail;
                }
                match (wildcard, rest) {
                    (true, _) => Some(Captures { params, path_info: rest.to_owned() }),
                    (false, "" | "/") => Some(Captures { params, path_info: String::new() }),
                    (false, _) => None,
                }
            }
            Route::Private => None,
        }
    }

    /// How specific the route is, Spin's way (routefinder's): compared segment by segment,
    /// an exact segment beats a parameter, which beats a trailing wildcard; a route that ends
    /// beats one that goes on with a wildcard.
    fn rank(&self) -> Vec<u8> {
        const END: u8 = 4;
        const EXACT: u8 = 3;
        const PARAM: u8 = 2;
        const WILDCARD: u8 = 1;
        let exact = |path: &str| path.split('/').skip(1).filter(|s| !s.is_empty()).map(|_| EXACT).collect::<Vec<u8>>();
        let mut key = match self {
            Route::Exact(path) | Route::Prefix(path) => exact(path),
            Route::Pattern { segments, .. } => {
                segments.iter().map(|s| if matches!(s, RouteSegment::Exact(_)) { EXACT } else { PARAM }).collect()
            }
            Route::Private => Vec::new(),
        };
        let wildcard = matches!(self, Route::Prefix(_) | Route::Pattern { wildcard: true, .. });
        key.push(if wildcard { WILDCARD } else { END });
        key
    }

    /// The route without its trailing `/...` (Spin's `spin-component-route`).
    pub fn without_wildcard(&self) -> String {
        let text = self.to_string();
        match text.strip_suffix("/...") {
            Some("") => String::new(),
            Some(base) => base.to_owned(),
            None => text,
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
            Route::Pattern { raw, .. } => f.write_str(raw),
            Route::Private => f.write_str("{ private = true }"),
        }
    }
}

/// Picks the trigger serving `path` as Spin does: the most specific matching route
/// ([`Route::rank`]): an exact route beats any wildcard, an exact segment beats a parameter,
/// and among wildcards the longest prefix wins. Private routes never match. (Duplicate routes
/// are rejected when the manifest is parsed; should `triggers` hold some anyway, the first
/// one wins.)
pub fn route<'a>(triggers: &'a [HttpTrigger], path: &str) -> Option<&'a HttpTrigger> {
    let mut best: Option<(Vec<u8>, &HttpTrigger)> = None;
    for trigger in triggers {
        if trigger.route.is_private() || !trigger.route.matches(path) {
            continue;
        }
        let rank = trigger.route.rank();
        if best.as_ref().is_none_or(|(best_rank, _)| rank > *best_rank) {
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
        for bad in [
            "",
            "api",
            "api/...",
            "/api...",
            "/a/.../b",
            "//x",
            "/a//b",
            "/api//...",
            "/a b",
            "/a?b",
            "/users/:",
            "/a/:id/:id",
            "/a/:x.y",
        ] {
            assert!(Route::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Route::parse("api/..."), Err(RouteError::NoLeadingSlash("api/...".into())));
        assert_eq!(Route::parse("/a?b"), Err(RouteError::NotAPath("/a?b".into())));
        assert_eq!(Route::parse("/a/.../b"), Err(RouteError::InnerWildcard("/a/.../b".into())));
        assert_eq!(Route::parse("/users/:"), Err(RouteError::Parameter("/users/:".into())));
        assert_eq!(Route::parse("/a//b"), Err(RouteError::EmptySegment("/a//b".into())));
    }

    #[test]
    fn parameters_capture_one_segment_each() {
        let r = Route::parse("/users/:id/files/:Name/...").expect("valid");
        assert_eq!(
            r.captures("/users/42/files/a.txt/raw/1"),
            Some(Captures {
                params: vec![("id".into(), "42".into()), ("name".into(), "a.txt".into())],
                path_info: "/raw/1".into()
            })
        );
        assert_eq!(r.captures("/users/42/files/a.txt").map(|c| c.path_info), Some(String::new()));
        assert!(!r.matches("/users//files/a"));
        assert!(!r.matches("/users/42/file/a"));
        let exact = Route::parse("/users/:id").expect("valid");
        assert!(exact.matches("/users/7"));
        assert!(exact.matches("/users/7/"));
        assert!(!exact.matches("/users/7/x"));
        assert!(!exact.matches("/users"));
        assert_eq!(exact.without_wildcard(), "/users/:id");
        assert_eq!(r.without_wildcard(), "/users/:id/files/:Name");
    }

    #[test]
    fn specificity_is_spins() {
        // routefinder's own example, as Spin routes.
        let triggers = vec![
            trigger("/...", "1"),
            trigger("/hello", "2"),
            trigger("/:greeting", "3"),
            trigger("/hey/:world", "4"),
            trigger("/hey/earth", "5"),
            trigger("/:greeting/:world/...", "6"),
        ];
        let pick = |path| route(&triggers, path).map(|t| t.component.as_str());
        assert_eq!(pick("/hey/earth"), Some("5"));
        assert_eq!(pick("/hey/mars"), Some("4"));
        assert_eq!(pick("/hello"), Some("2"));
        assert_eq!(pick("/hi"), Some("3"));
        assert_eq!(pick("/yo/planet/check/this/out"), Some("6"));
        assert_eq!(pick("/"), Some("1"));
    }

    #[test]
    fn display_round_trips() {
        for r in ["/...", "/api/...", "/health", "/", "/users/:id/..."] {
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
