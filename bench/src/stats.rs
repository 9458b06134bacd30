//! Latency summaries and the printed tables.

use serde_json::{Value, json};

/// Percentiles of latencies given in microseconds (nearest rank).
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
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
            p90_ms: rank(0.90),
            p95_ms: rank(0.95),
            p99_ms: rank(0.99),
            p999_ms: rank(0.999),
            max_ms: us.last().copied().unwrap_or(0) as f64 / 1000.0,
            mean_ms: sum as f64 / n as f64 / 1000.0,
        }
    }

    /// (label, ms) for the chart, in order.
    pub fn points(&self) -> [(&'static str, f64); 5] {
        [
            ("p50", self.p50_ms),
            ("p90", self.p90_ms),
            ("p99", self.p99_ms),
            ("p99.9", self.p999_ms),
            ("max", self.max_ms),
        ]
    }

    pub fn json(&self) -> Value {
        json!({
            "n": self.n,
            "p50_ms": r3(self.p50_ms),
            "p90_ms": r3(self.p90_ms),
            "p95_ms": r3(self.p95_ms),
            "p99_ms": r3(self.p99_ms),
            "p999_ms": r3(self.p999_ms),
            "max_ms": r3(self.max_ms),
            "mean_ms": r3(self.mean_ms),
        })
    }
}

pub fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `a / b`, or None when `b` is zero or either is not finite.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

/// Rows of (scenario, figure, value), printed per scenario.
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

/// Side-by-side rows: (case, figure, a, b, a/b).
#[derive(Debug)]
pub struct Compare {
    pub title: String,
    pub a: String,
    pub b: String,
    rows: Vec<[String; 5]>,
}

impl Compare {
    pub fn new(title: &str, a: &str, b: &str) -> Self {
        Self { title: title.into(), a: a.into(), b: b.into(), rows: Vec::new() }
    }

    /// A row of numbers with `digits` decimals and their ratio.
    pub fn num(&mut self, case: &str, figure: &str, a: f64, b: f64, digits: usize) {
        self.rows.push([
            case.into(),
            figure.into(),
            format!("{a:.digits$}"),
            format!("{b:.digits$}"),
            fmt_ratio(ratio(a, b)),
        ]);
    }

    pub fn text(&mut self, case: &str, figure: &str, a: impl std::fmt::Display, b: impl std::fmt::Display) {
        self.rows.push([case.into(), figure.into(), a.to_string(), b.to_string(), String::new()]);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn print(&self) {
        let head =
            ["case".to_string(), "figure".into(), self.a.clone(), self.b.clone(), format!("{}/{}", self.a, self.b)];
        let mut w = [0usize; 5];
        for r in self.rows.iter().chain(std::iter::once(&head)) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.len());
            }
        }
        println!("\n{}", self.title);
        let line = |r: &[String; 5]| {
            println!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4]
            );
        };
        line(&head);
        println!("{}", w.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>().join("  "));
        for r in &self.rows {
            line(r);
        }
    }

    pub fn json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    let mut m = serde_json::Map::new();
                    m.insert("case".into(), json!(r[0]));
                    m.insert("figure".into(), json!(r[1]));
                    m.insert(self.a.clone(), json!(r[2]));
                    m.insert(self.b.clone(), json!(r[3]));
                    m.insert("ratio".into(), json!(r[4]));
                    Value::Object(m)
                })
                .collect(),
        )
    }
}
