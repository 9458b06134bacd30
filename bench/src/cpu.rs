//! Where the CPU went during a phase: the host process, this bench, and everything else on
//! the machine (the host's PostgreSQL, and whatever else runs here), from /proc.

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{Value, json};

use crate::stats::r3;

/// Clock ticks per second for /proc times.
fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(100.0)
    })
}

/// utime + stime of a process, in ticks.
fn process_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// Busy ticks of the whole machine (all CPUs), from the first line of /proc/stat.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(line) = stat.lines().next() else { return 0 };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    v.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).take(8).map(|(_, x)| *x).sum()
}

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    host: u64,
    bench: u64,
    machine: u64,
    at: Instant,
}

impl Sample {
    pub fn take(host_pid: u32) -> Self {
        Self {
            host: process_ticks(&host_pid.to_string()),
            bench: process_ticks("self"),
            machine: machine_busy_ticks(),
            at: Instant::now(),
        }
    }

    /// CPU seconds used since `self`.
    pub fn since(&self, host_pid: u32) -> Usage {
        let now = Self::take(host_pid);
        let t = clk_tck();
        let host = now.host.saturating_sub(self.host) as f64 / t;
        let bench = now.bench.saturating_sub(self.bench) as f64 / t;
        let machine = now.machine.saturating_sub(self.machine) as f64 / t;
        Usage {
            host,
            bench,
            other: (machine - host - bench).max(0.0),
            wall: now.at.duration_since(self.at).as_secs_f64(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub host: f64,
    pub bench: f64,
    /// Machine busy time not spent in the host or the bench: the host's PostgreSQL, and
    /// anything else running on this machine.
    pub other: f64,
    pub wall: f64,
}

impl Usage {
    pub fn row(&self) -> String {
        format!("{:.1} / {:.1} / {:.1} (wall {:.1})", self.host, self.bench, self.other, self.wall)
    }

    pub fn json(&self) -> Value {
        json!({ "host_cpu_secs": r3(self.host), "bench_cpu_secs": r3(self.bench), "other_cpu_secs": r3(self.other), "wall_secs": r3(self.wall) })
    }
}

/// The table label for [`Usage::row`].
pub const LABEL: &str = "CPU s host / bench / other";
