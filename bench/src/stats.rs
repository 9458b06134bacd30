//! Latency summaries and the printed table.

use serde_json::{Value, json};

/// Percentiles of latencies given in microseconds (nearest rank).
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub n: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn of(mut us: Vec<u64>) -> Self {
        if us.is_empty() {
            return Self::default();
        }
        us.sort_unstable();
        let n = us.len();
        let rank = |p: f64| {
            let idx = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            us.get(idx).copied().unwrap_or(0) as f64 / 1000.0
        };
        let sum: u128 = us.iter().map(|&v| u128::from(v)).sum();
        Self {
            n,
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: us.last().copied().unwrap_or(0) as f64 / 1000.0,
            mean_ms: sum as f64 / n as f64 / 1000.0,
        }
    }

    pub fn json(&self) -> Value {
        json!({ "n": self.n, "p50_ms": r3(self.p50_ms), "p99_ms": r3(self.p99_ms), "max_ms": r3(self.max_ms), "mean_ms": r3(self.mean_ms) })
    }
}

pub fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Rows of (scenario, figure, value), printed per scenario and again at the end.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<(String, String, String)>,
}

impl Table {
    pub fn add(&mut self, scenario: &str, figure: &str, value: impl std::fmt::Display) {
        self.rows.push((scenario.to_string(), figure.to_string(), value.to_string()));
    }

    pub fn print(&self, title: &str, only: Option<&str>) {
        let rows: Vec<_> = self.rows.iter().filter(|r| only.is_none_or(|s| r.0 == s)).collect();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max("scenario".len());
        let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max("figure".len());
        let w2 = rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max("value".len());
        println!("\n{title}");
        println!("{:<w0$}  {:<w1$}  {:>w2$}", "scenario", "figure", "value");
        println!("{}  {}  {}", "-".repeat(w0), "-".repeat(w1), "-".repeat(w2));
        for (s, f, v) in rows {
            println!("{s:<w0$}  {f:<w1$}  {v:>w2$}");
        }
    }
}
