//! Counters exposed at `/metrics` in the Prometheus text format.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ocomms_core::{ApiError, ErrorCode};

#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_4xx: AtomicU64,
    pub http_5xx: AtomicU64,
    pub component_timeouts: AtomicU64,
    pub component_traps: AtomicU64,
    /// Sum of component request durations, microseconds.
    pub component_micros: AtomicU64,
    pub component_requests: AtomicU64,
    pub sockets: AtomicU64,
    pub events_published: AtomicU64,
    pub deliveries: AtomicU64,
    pub lagged: AtomicU64,
    /// Password requests (login, signup) running now, and the most that ever ran at once.
    pub password_running: AtomicU64,
    pub password_running_max: AtomicU64,
    /// Password requests refused because the queue for them was too long.
    pub password_refused: AtomicU64,
    /// Connections refused over the per-address cap.
    pub connections_refused: AtomicU64,
    /// Connections closed for not sending a request head in time.
    pub header_timeouts: AtomicU64,
    /// WebSockets closed over the per-user or per-address cap.
    pub sockets_refused: AtomicU64,
    /// Rounds of the mail sender: each claims from the outbox.
    pub mail_rounds: AtomicU64,
}

/// Who may read `/metrics`: with a token, only with `Authorization: Bearer <token>`; with
/// a separate metrics address, only there; with neither, only loopback clients (as the
/// API sees them: behind a trusted proxy, the address the proxy reports).
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    pub token: Option<String>,
    /// `/metrics` is served on its own listener, not on the main one.
    pub separate_listener: bool,
}

impl MetricsAccess {
    /// Whether a request may read the metrics. `main`: it came to the main listener.
    pub fn check(&self, authorization: Option<&str>, client: IpAddr, main: bool) -> Result<(), ApiError> {
        if main && self.separate_listener {
            return Err(ApiError::not_found("route"));
        }
        match &self.token {
            Some(token) => {
                let given = authorization.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
                if given.is_some_and(|g| same(g.trim().as_bytes(), token.as_bytes())) {
                    Ok(())
                } else {
                    Err(ApiError::new(ErrorCode::Unauthenticated, "metrics need Authorization: Bearer <metrics token>"))
                }
            }
            None if !main || is_loopback(client) => Ok(()),
            None => Err(ApiError::new(
                ErrorCode::Forbidden,
                "metrics are served to loopback clients only (configure a metrics token or address)",
            )),
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        IpAddr::V4(v4) => v4.is_loopback(),
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Metrics {
    /// `instances`: component instances created and the time spent creating them.
    pub fn render(&self, rooms: usize, instances: (u64, Duration)) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        metric("ocomms_http_requests_total", "counter", "HTTP requests served.", &get(&self.http_requests));
        metric("ocomms_http_client_errors_total", "counter", "Responses with a 4xx status.", &get(&self.http_4xx));
        metric("ocomms_http_server_errors_total", "counter", "Responses with a 5xx status.", &get(&self.http_5xx));
        metric(
            "ocomms_component_requests_total",
            "counter",
            "Requests run in a component.",
            &get(&self.component_requests),
        );
        metric(
            "ocomms_component_seconds_total",
            "counter",
            "Time spent in components.",
            // Fractional seconds: whole seconds hid the mean of short requests.
            &format!("{:.6}", get(&self.component_micros) as f64 / 1e6),
        );
        metric(
            "ocomms_component_timeouts_total",
            "counter",
            "Requests cut off by the deadline.",
            &get(&self.component_timeouts),
        );
        metric(
            "ocomms_component_traps_total",
            "counter",
            "Requests whose component trapped.",
            &get(&self.component_traps),
        );
        metric("ocomms_websockets", "gauge", "Open authenticated WebSockets.", &get(&self.sockets));
        metric("ocomms_rooms", "gauge", "Rooms with at least one listener.", &(rooms as u64));
        metric(
            "ocomms_events_published_total",
            "counter",
            "Committed events handed to rooms.",
            &get(&self.events_published),
        );
        metric("ocomms_deliveries_total", "counter", "Frames queued to sockets.", &get(&self.deliveries));
        metric(
            "ocomms_lagged_total",
            "counter",
            "Times a socket fell behind and was told to resync.",
            &get(&self.lagged),
        );
        metric(
            "ocomms_password_requests_running",
            "gauge",
            "Logins and signups hashing a password now.",
            &get(&self.password_running),
        );
        metric(
            "ocomms_password_requests_running_max",
            "gauge",
            "The most logins and signups that hashed a password at once.",
            &get(&self.password_running_max),
        );
        metric(
            "ocomms_password_requests_refused_total",
            "counter",
            "Logins and signups refused because too many waited.",
            &get(&self.password_refused),
        );
        metric(
            "ocomms_connections_refused_total",
            "counter",
            "Connections refused over the per-address cap.",
            &get(&self.connections_refused),
        );
        metric(
            "ocomms_header_timeouts_total",
            "counter",
            "Connections closed for not sending a request head in time.",
            &get(&self.header_timeouts),
        );
        metric(
            "ocomms_websockets_refused_total",
            "counter",
            "WebSockets closed over the per-user or per-address cap.",
            &get(&self.sockets_refused),
        );
        metric(
            "ocomms_mail_rounds_total",
            "counter",
            "Rounds of the mail sender (each claims what is due from the outbox).",
            &get(&self.mail_rounds),
        );
        metric(
            "ocomms_component_instantiations_total",
            "counter",
            "Component instances created (one per request).",
            &instances.0,
        );
        metric(
            "ocomms_component_instantiate_seconds_total",
            "counter",
            "Time spent creating component instances.",
            &format!("{:.6}", instances.1.as_secs_f64()),
        );
        out
    }

    /// The cluster relay's figures, after [`Self::render`]'s.
    pub fn render_relay(out: &mut String, relay: &crate::relay::RelayStatus) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let up = u64::from(relay.up.load(Ordering::Acquire));
        for (name, kind, help, value) in [
            ("ocomms_relay_up", "gauge", "1 while subscribed to the cluster relay.", up),
            ("ocomms_relay_published_total", "counter", "Messages published to the relay.", get(&relay.published)),
            ("ocomms_relay_received_total", "counter", "Messages heard on the relay.", get(&relay.received)),
            (
                "ocomms_relay_reconnects_total",
                "counter",
                "Times the relay subscription was lost and made again (each made this host's sockets resync).",
                get(&relay.reconnects),
            ),
            (
                "ocomms_relay_overflows_total",
                "counter",
                "Times this host's relay queue overflowed (each made every host's sockets resync).",
                get(&relay.overflows),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const FAR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 5));

    #[test]
    fn metrics_access() {
        let open = MetricsAccess::default();
        assert!(open.check(None, LOCAL, true).is_ok());
        assert!(open.check(None, "::ffff:127.0.0.1".parse().unwrap(), true).is_ok());
        assert_eq!(open.check(None, FAR, true).unwrap_err().code, ErrorCode::Forbidden);
        let token = MetricsAccess { token: Some("s3cret".into()), separate_listener: false };
        assert_eq!(token.check(None, LOCAL, true).unwrap_err().code, ErrorCode::Unauthenticated);
        assert!(token.check(Some("Bearer wrong!"), FAR, true).is_err());
        assert!(token.check(Some("Bearer s3cret"), FAR, true).is_ok());
        let apart = MetricsAccess { token: None, separate_listener: true };
        assert_eq!(apart.check(None, LOCAL, true).unwrap_err().code, ErrorCode::NotFound);
        assert!(apart.check(None, FAR, false).is_ok());
    }
}
