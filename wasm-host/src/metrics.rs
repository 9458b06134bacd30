//! Counters exposed at `/metrics` in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
}
