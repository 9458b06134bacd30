//! Tests of the `allowed_outbound_hosts` grammar and matcher (`hosts.rs`): the cases of the
//! former manifest and runtime parsers, the cases on which they disagreed (CIDR blocks, `mqtt`
//! and other schemes, ports, wildcards, templates), and Spin's own test cases
//! (`spin-outbound-networking-config`, `allowed_hosts.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn host(entry: &str) -> AllowedHost {
    AllowedHost::parse(entry).unwrap_or_else(|e| panic!("{entry}: {e}"))
}

fn hosts(entries: &[&str]) -> AllowedHosts {
    AllowedHosts::parse(entries).unwrap_or_else(|e| panic!("{e}: {}", e.reason))
}

fn refused(entry: &str) -> HostError {
    match AllowedHost::parse(entry) {
        Ok(h) => panic!("{entry} parsed as {h:?}"),
        Err(e) => e,
    }
}

#[test]
fn parses_entries() {
    let h = host("http://rooms.internal");
    assert_eq!(h.scheme.as_deref(), Some("http"));
    assert_eq!(h.host, HostPattern::Name("rooms.internal".into()));
    assert_eq!(h.port, PortSpec::Exact(80));
    assert_eq!(h.as_str(), "http://rooms.internal");

    assert_eq!(host("postgres://localhost").port, PortSpec::Exact(5432));
    assert_eq!(host("mysql://db").port, PortSpec::Exact(3306));
    assert_eq!(host("redis://cache").port, PortSpec::Exact(6379));
    assert_eq!(host("https://example.com/").port, PortSpec::Exact(443));

    let h = host("*://*.example.com:8000..8010/");
    assert_eq!(h.scheme, None);
    assert_eq!(h.host, HostPattern::Subdomains("example.com".into()));
    assert_eq!(h.port, PortSpec::Range(8000, 8010));

    let h = host("https://[::1]:8443");
    assert_eq!(h.host, HostPattern::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert_eq!(h.port, PortSpec::Exact(8443));

    assert_eq!(host("redis://10.0.0.1:*").host, HostPattern::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
    assert_eq!(host("redis://10.0.0.1:*").port, PortSpec::Any);
    assert_eq!(host("mysql://*").host, HostPattern::Any);
    assert_eq!(host("  http://padded.internal  ").host, HostPattern::Name("padded.internal".into()));
    assert_eq!(host("http://my_service").host, HostPattern::Name("my_service".into()));
    assert_eq!(host("http://api.spin.internal").host, HostPattern::Name("api.spin.internal".into()));
}

/// The former runtime parser accepted these and the manifest refused them (or the reverse).
#[test]
fn formerly_disagreeing_cases() {
    // CIDR blocks.
    let h = host("https://10.0.0.0/8");
    assert_eq!(h.host, HostPattern::Cidr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 0)), 8));
    assert_eq!(h.port, PortSpec::Exact(443));
    assert_eq!(host("*://192.168.1.0/24:*").host, HostPattern::Cidr(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 0)), 24));
    assert_eq!(host("*://ff00::/8:80").host, HostPattern::Cidr("ff00::".parse().expect("v6"), 8));
    // Schemes beyond the five the manifest knew: any letters, with their well-known port.
    assert_eq!(host("mqtt://broker.internal").port, PortSpec::Exact(1883));
    assert_eq!(host("tcp://broker.internal:9000").scheme.as_deref(), Some("tcp"));
    assert!(matches!(refused("ftp://files.internal"), HostError::NoDefaultPort(s) if s == "ftp"));
    // Ports: 0 and empty ranges are refused by both now.
    assert_eq!(refused("http://rooms.internal:0"), HostError::PortZero);
    assert!(matches!(refused("http://rooms.internal:90..80"), HostError::EmptyRange(_)));
    assert_eq!(host("http://rooms.internal:0..1024").port, PortSpec::Range(0, 1024));
    // Host names: the runtime accepted `_` and any name, the manifest checked DNS labels.
    assert!(matches!(refused("http://rooms..internal"), HostError::InvalidHost(_)));
    // Templates: the manifest refused them; now they are parsed once rendered.
    assert!(matches!(refused("http://{{ rooms_host }}"), HostError::Template(_)));
    assert!(AllowedHostEntry::is_template("http://{{ rooms_host }}"));
}

#[test]
fn self_hosts() {
    assert_eq!(host("http://self").host, HostPattern::ToSelf);
    assert_eq!(host("https://self.alt").host, HostPattern::ToSelf);
    // As in Spin, `self` stands for relative requests and matches no absolute URL.
    assert!(!hosts(&["http://self"]).allows("http", "self", None));
    assert!(!hosts(&["http://self"]).allows("http", "localhost", None));
}

#[test]
fn rejects_bad_entries() {
    for bad in [
        "rooms.internal",
        "rooms.internal:80",
        "*",
        ":",
        "",
        "http://",
        "http://:80",
        "http://rooms.internal/api",
        "http://rooms.internal:80/api",
        "http://*.rooms.internal/a",
        "http://user@rooms.internal",
        "http://rooms.internal?x=1",
        "http://rooms..internal",
        "http://rooms.internal.",
        "http://-rooms.internal",
        "http://rooms.internal:70000",
        "http://rooms.internal:http",
        "http://rooms.internal:+",
        "*://rooms.internal",
        "gopher://example.com",
        "ht-tp://example.com",
        "h2://example.com:1",
        "://example.com",
        "http://exa*mple.com",
        "http://*.ex*.com",
        "http://*.",
        "http://10.0.0.0/33",
        "http://::1/129:80",
        "http://10.0.0.0/x",
        "http://10.0.0.256",
        "http://1.2.3",
        "https://[::1",
        "https://[nope]:1",
        "https://[::1]x:1",
        "http://bücher.example",
    ] {
        assert!(AllowedHost::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn refusals_are_specific() {
    assert_eq!(refused("example.com"), HostError::MissingScheme);
    assert_eq!(refused("insecure:allow-all"), HostError::InsecureAllowAll);
    assert!(matches!(refused("{http,https}://example.com"), HostError::List { part: "scheme", .. }));
    assert!(matches!(refused("http://{a,b}.example.com"), HostError::List { part: "host", .. }));
    assert!(matches!(refused("http://example.com:{80,443}"), HostError::List { part: "port", .. }));
    assert!(matches!(refused("HTTP://example.com"), HostError::UpperCase(s) if s == "HTTP"));
    assert!(matches!(refused("http://Example.com"), HostError::UpperCase(_)));
    assert!(matches!(refused("http://*.Example.com"), HostError::UpperCase(_)));
    assert!(matches!(refused("http://example.com/api"), HostError::Path(_)));
    assert!(matches!(refused("http://exa*mple.com"), HostError::Wildcard(_)));
    assert!(matches!(refused("http://10.0.0.256"), HostError::InvalidIp { .. }));
    assert!(matches!(refused("http://::1"), HostError::UnbracketedIpv6(_)));
    assert!(matches!(refused("http://::1:8080"), HostError::UnbracketedIpv6(_)));
    // Spin reads the last `:` as the port separator, so these need a port.
    assert!(matches!(refused("http://[::1]"), HostError::Ipv6WithoutPort(a) if a == "::1"));
    assert!(matches!(refused("http://[::1]/"), HostError::Ipv6WithoutPort(_)));
    assert!(matches!(refused("*://ff00::/8"), HostError::CidrWithoutPort(_)));
    assert!(matches!(refused("*://127.0.0.0/24"), HostError::NoDefaultPort(s) if s == "*"));
    assert!(matches!(refused("http://10.0.0.0/33"), HostError::CidrPrefixTooLong { max: 32, .. }));
    assert!(matches!(refused("http://10.0.0.0/x"), HostError::CidrPrefix { .. }));
    assert!(matches!(refused("http://h:1-100"), HostError::DashRange { suggestion, .. } if suggestion == "1..101"));
    assert!(matches!(refused("http://h:1-65535"), HostError::DashRange { suggestion, .. } if suggestion == "1..65536"));
    assert!(matches!(refused("http://h:1-x"), HostError::InvalidPort { .. }));
    assert!(matches!(refused("http://h:x"), HostError::InvalidPort { .. }));
    assert!(matches!(refused("*://h"), HostError::NoDefaultPort(_)));

    // Errors that wrap a parse error keep it as their source.
    let e = refused("http://h:99999");
    assert!(std::error::Error::source(&e).is_some(), "{e}");
    let e = AllowedHosts::parse(&["http://ok", "http://h:x"]).expect_err("second entry");
    assert_eq!(e.entry, "http://h:x");
    assert_eq!(e.to_string(), "invalid allowed_outbound_hosts entry \"http://h:x\"");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn exact_host_default_port() {
    let a = hosts(&["http://rooms.internal"]);
    assert!(a.allows("http", "rooms.internal", None));
    assert!(a.allows("http", "rooms.internal", Some(80)));
    assert!(a.allows("HTTP", "Rooms.Internal", None));
    assert!(!a.allows("http", "rooms.internal", Some(8080)));
    assert!(!a.allows("https", "rooms.internal", None));
    assert!(!a.allows("http", "other.internal", None));
    assert!(!a.allows("http", "x.rooms.internal", None));
    assert!(host("postgres://localhost").allows("postgres", "localhost", Some(5432)));
}

#[test]
fn explicit_port_and_trailing_slash() {
    let a = hosts(&["https://api.example.com:8443/"]);
    assert!(a.allows("https", "api.example.com", Some(8443)));
    assert!(!a.allows("https", "api.example.com", None));
}

#[test]
fn subdomain_wildcard() {
    let a = hosts(&["https://*.example.com"]);
    assert!(a.allows("https", "api.example.com", None));
    assert!(a.allows("HTTPS", "a.b.Example.com", Some(443)));
    assert!(!a.allows("https", "example.com", None));
    assert!(!a.allows("https", "badexample.com", None));
    assert!(!a.allows("http", "api.example.com", Some(443)));
    assert!(!a.allows("https", "api.example.com", Some(8443)));
}

#[test]
fn wildcards_everywhere() {
    let a = hosts(&["*://*:*"]);
    assert!(a.allows("http", "anything", Some(1)));
    assert!(a.allows("https", "10.0.0.1", None));
    assert!(a.allows("redis", "[::1]", Some(6379)));
    // As in Spin, a `*` port matches even when the request's scheme has no well-known port.
    assert!(a.allows("gopher", "x", None));
    // ... but a specific port needs one.
    assert!(!hosts(&["*://x:70"]).allows("gopher", "x", None));

    let a = hosts(&["*://localhost:*"]);
    assert!(a.allows("postgres", "localhost", Some(5432)));
    assert!(a.allows("http", "LOCALHOST", Some(3000)));
    assert!(!a.allows("http", "127.0.0.1", Some(3000)));
}

#[test]
fn any_host_specific_scheme_and_port() {
    let a = hosts(&["http://*:8080", "https://*"]);
    assert!(a.allows("http", "x.y", Some(8080)));
    assert!(!a.allows("http", "x.y", None));
    assert!(a.allows("https", "x.y", None));
    assert!(!a.allows("https", "x.y", Some(8443)));
}

#[test]
fn port_ranges() {
    let a = hosts(&["http://localhost:8000..8010"]);
    assert!(a.allows("http", "localhost", Some(8000)));
    assert!(a.allows("http", "localhost", Some(8009)));
    assert!(!a.allows("http", "localhost", Some(8010)));
    assert!(!a.allows("http", "localhost", None));
}

#[test]
fn ips_and_cidr() {
    let a = hosts(&["http://127.0.0.1:*", "http://[::1]:8080", "https://10.0.0.0/8"]);
    assert!(a.allows("http", "127.0.0.1", Some(3000)));
    assert!(!a.allows("http", "127.0.0.2", Some(3000)));
    assert!(a.allows("http", "[::1]", Some(8080)));
    assert!(a.allows("http", "::1", Some(8080)));
    assert!(a.allows("http", "[0:0::1]", Some(8080)));
    assert!(a.allows("https", "10.20.30.40", None));
    assert!(!a.allows("https", "11.0.0.1", None));
    assert!(!a.allows("https", "ten.example", None));
    // A CIDR block holds addresses of its own family only (as in Spin).
    assert!(!a.allows("https", "[::ffff:10.0.0.1]", None));

    let b = hosts(&["*://192.168.1.0/24:*", "*://127.0.0.1/24:63551", "*://fd00::/8:443"]);
    assert!(b.allows("http", "192.168.1.200", Some(1)));
    assert!(!b.allows("http", "192.168.2.1", Some(1)));
    // Host bits of the block are ignored, as Spin truncates them.
    assert!(b.allows("tcp", "127.0.0.9", Some(63551)));
    assert!(b.allows("https", "[fdab::1]", None));
    assert!(!b.allows("https", "[fe00::1]", None));
    assert!(hosts(&["*://0.0.0.0/0:*"]).allows("http", "8.8.8.8", None));
}

#[test]
fn empty_list_denies_everything() {
    let a = AllowedHosts::default();
    assert!(a.is_empty());
    assert!(!a.allows("https", "example.com", None));
    assert_eq!(hosts(&["http://a", "http://b"]).entries().len(), 2);
}

/// Spin's `test_allowed_hosts_can_be_specific` and neighbours.
#[test]
fn spin_cases() {
    let a = hosts(&["*://spin.fermyon.dev:443", "http://example.com:8383"]);
    assert!(a.allows("http", "example.com", Some(8383)));
    assert!(a.allows("https", "spin.fermyon.dev", None));
    assert!(!a.allows("http", "example.com", None));
    assert!(!a.allows("http", "google.com", None));

    let a = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
    assert!(a.allows("http", "a.example.com", None));
    assert!(a.allows("http", "a.b.example.com", None));
    assert!(a.allows("http", "a.b.example2.com", Some(8383)));
    assert!(!a.allows("http", "a.b.example2.com", None));
    assert!(!a.allows("http", "example.com", None));
    assert!(!a.allows("http", "example.com", Some(8383)));
    assert!(!a.allows("http", "myexample.com", None));

    assert!(hosts(&["mysql://xyz.com"]).allows("mysql", "xyz.com", None));
    assert!(hosts(&["https://my.api.com/"]).allows("https", "my.api.com", None));
}

const TEMPLATED: &str = r#"spin_manifest_version = 2

[application]
name = "t"

[variables]
rooms_url = { default = "http://rooms.internal" }
db_host = { default = "localhost" }
db_port = { default = "5432" }
token = { required = true, secret = true }

[[trigger.http]]
route = "/..."
component = "api"

[component.api]
source = "api.wasm"
allowed_outbound_hosts = [
    "https://*.example.com",
    "{{ rooms_url }}",
    "postgres://{{ db_host }}:{{db_port}}",
]

[component.other]
source = "other.wasm"
allowed_outbound_hosts = ["http://{{ token }}.internal"]
"#;

#[test]
fn templates_are_checked_at_load_and_parsed_once_rendered() {
    let m = parse(TEMPLATED, Path::new("/app")).unwrap_or_else(|e| panic!("{e}"));
    let api = &m.components["api"];
    assert!(matches!(api.allowed_outbound_hosts[0], AllowedHostEntry::Parsed(_)));
    assert!(matches!(api.allowed_outbound_hosts[1], AllowedHostEntry::Template(_)));
    assert_eq!(api.allowed_outbound_hosts[2].to_string(), "postgres://{{ db_host }}:{{db_port}}");

    let defaults = m.resolve_allowed_hosts("api", &|_| None).expect("resolves with defaults");
    assert_eq!(defaults.entries().len(), 3);
    assert!(defaults.allows("http", "rooms.internal", None));
    assert!(defaults.allows("postgres", "localhost", None));
    assert!(defaults.allows("https", "a.example.com", None));

    let provided = |name: &str| match name {
        "rooms_url" => Some("http://10.1.0.0/16:*".to_string()),
        "db_host" => Some("db.internal".to_string()),
        "db_port" => Some("6543".to_string()),
        _ => None,
    };
    let a = m.resolve_allowed_hosts("api", &provided).expect("resolves");
    assert!(a.allows("http", "10.1.200.3", Some(9)));
    assert!(!a.allows("http", "rooms.internal", None));
    assert!(a.allows("postgres", "db.internal", Some(6543)));
    assert!(!a.allows("postgres", "localhost", None));

    // A rendered entry that does not parse is an error at its field.
    let bad = |name: &str| (name == "db_port").then(|| "5432-5439".to_string());
    let e = m.resolve_allowed_hosts("api", &bad).expect_err("dash range");
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.field.to_string(), "component.api.allowed_outbound_hosts[2]");
    assert!(e.reason.contains("renders as \"postgres://localhost:5432-5439\""), "{e}");
    assert!(
        matches!(e.source.as_deref(), Some(Cause::Host(HostError::DashRange { suggestion, .. })) if suggestion == "5432..5440"),
        "{e:?}"
    );
    assert!(error::report(&e).ends_with("write ranges as `start..end` with the end excluded, here `5432..5440`"));

    // Missing required variables and unknown components are reported as for variables.
    let e = m.resolve_allowed_hosts("other", &|_| None).expect_err("token is required");
    assert_eq!(e.kind, ErrorKind::MissingVariable);
    assert_eq!(m.resolve_allowed_hosts("nope", &|_| None).expect_err("unknown").kind, ErrorKind::UnknownComponent);

    // Neither the rendered text nor the parse error (which quotes it) is shown when a secret
    // went into it.
    let e = m.resolve_allowed_hosts("other", &|_| Some("S3CRET!".to_string())).expect_err("invalid host");
    assert!(!error::report(&e).contains("S3CRET"), "{e:?}");
    assert!(e.source.is_none());
}

#[test]
fn templates_must_reference_declared_variables() {
    let text = TEMPLATED.replace("{{ db_host }}", "{{ db_hostname }}");
    let e = parse(&text, Path::new("/app")).expect_err("undeclared");
    assert_eq!(e.field.to_string(), "component.api.allowed_outbound_hosts[2]");
    assert_eq!(e.location.map(|l| l.line), Some(21));
    assert!(e.reason.contains("references `db_hostname`"), "{e}");

    let text = TEMPLATED.replace("{{ rooms_url }}", "{{ rooms_url");
    let e = parse(&text, Path::new("/app")).expect_err("unterminated");
    assert_eq!(e.field.to_string(), "component.api.allowed_outbound_hosts[1]");
    assert!(matches!(e.source.as_deref(), Some(Cause::Template(TemplateError::Unterminated { .. }))), "{e:?}");
}

/// One entry built from its parts, and a request it must allow.
fn entry() -> impl Strategy<Value = (String, String, String, u16)> {
    let scheme = prop_oneof![Just("*"), Just("http"), Just("https"), Just("postgres"), Just("mqtt"), Just("tcp")];
    let host = prop_oneof![
        "[a-z]([a-z0-9_-]{0,7}[a-z0-9])?(\\.[a-z][a-z0-9]{0,8}){0,3}"
            .prop_filter("not `self`", |h| h != "self" && h != "self.alt")
            .prop_map(|h| (h.clone(), h)),
        "[a-z]{1,8}\\.[a-z]{2,5}".prop_map(|d| (format!("*.{d}"), format!("sub.{d}"))),
        any::<[u8; 4]>().prop_map(|o| {
            let ip = Ipv4Addr::from(o);
            (ip.to_string(), ip.to_string())
        }),
        any::<[u16; 8]>().prop_map(|s| {
            let ip = Ipv6Addr::from(s);
            (format!("[{ip}]"), format!("[{ip}]"))
        }),
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(o, bits)| {
            let ip = Ipv4Addr::from(o);
            (format!("{ip}/{bits}"), ip.to_string())
        }),
    ];
    let port = prop_oneof![
        (1u16..).prop_map(|p| (format!(":{p}"), p)),
        Just((":*".to_string(), 7)),
        (1u16..60000, 1u16..100).prop_map(|(a, n)| (format!(":{a}..{}", a + n), a + n - 1)),
        Just((String::new(), 0)),
    ];
    (scheme, host, port).prop_filter_map("a port is needed", |(scheme, (host, target), (port, p))| {
        let (req_scheme, p) = match (port.is_empty(), scheme) {
            (true, "*" | "tcp") => return None,
            (true, s) => (s.to_string(), well_known_port(s).expect("well known")),
            (false, "*") => ("https".to_string(), p),
            (false, s) => (s.to_string(), p),
        };
        // Spin needs a port after a bracketed IPv6 address.
        if port.is_empty() && host.starts_with('[') {
            return None;
        }
        Some((format!("{scheme}://{host}{port}"), req_scheme, target, p))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn built_entries_parse_and_allow_their_target((text, scheme, host, port) in entry()) {
        let parsed = AllowedHost::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert!(parsed.allows(&scheme, &host, Some(port)), "{} should allow {}://{}:{}", text, scheme, host, port);
        prop_assert!(!parsed.allows("other", &host, Some(port)) || parsed.scheme.is_none());
    }

    #[test]
    fn arbitrary_entries_never_panic(text in any::<String>(), scheme in "[a-z]{1,6}", host in any::<String>()) {
        if let Ok(h) = AllowedHost::parse(&text) {
            let _ = h.allows(&scheme, &host, None);
        }
    }

    #[test]
    fn url_like_entries_never_panic(text in "[a-z*{]{0,6}://[a-z0-9.:/\\[\\]*_{}-]{0,24}") {
        if let Err(e) = AllowedHost::parse(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
