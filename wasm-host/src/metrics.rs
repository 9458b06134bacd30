//! Counters exposed at `/metrics` in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Metrics {
    pub fn render(&self, rooms: usize) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        metric("ocomms_http_requests_total", "counter", "HTTP requests served.", get(&self.http_requests));
        metric("ocomms_http_client_errors_total", "counter", "Responses with a 4xx status.", get(&self.http_4xx));
        metric("ocomms_http_server_errors_total", "counter", "Responses with a 5xx status.", get(&self.http_5xx));
        metric(
            "ocomms_component_requests_total",
            "counter",
            "Requests run in a component.",
            get(&self.component_requests),
        );
        metric(
            "ocomms_component_seconds_total",
            "counter",
            "Time spent in components.",
            get(&self.component_micros) / 1_000_000,
        );
        metric(
            "ocomms_component_timeouts_total",
            "counter",
            "Requests cut off by the deadline.",
            get(&self.component_timeouts),
        );
        metric(
            "ocomms_component_traps_total",
            "counter",
            "Requests whose component trapped.",
            get(&self.component_traps),
        );
        metric("ocomms_websockets", "gauge", "Open authenticated WebSockets.", get(&self.sockets));
        metric("ocomms_rooms", "gauge", "Rooms with at least one listener.", rooms as u64);
        metric(
            "ocomms_events_published_total",
            "counter",
            "Committed events handed to rooms.",
            get(&self.events_published),
        );
        metric("ocomms_deliveries_total", "counter", "Frames queued to sockets.", get(&self.deliveries));
        metric(
            "ocomms_lagged_total",
            "counter",
            "Times a socket fell behind and was told to resync.",
            get(&self.lagged),
        );
        out
    }
}
