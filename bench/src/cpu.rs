//! Where the CPU went during a phase: the server process, the server with its descendants
//! (the host's managed PostgreSQL runs under it), this bench, and everything else on the
//! machine, from /proc.

use std::collections::HashMap;
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

/// (ppid, utime + stime in ticks) of a process.
fn stat(pid: &str) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, ppid 4, utime 14 and stime 15, so 1, 11 and 12 here.
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Some((u32::try_from(get(1)).unwrap_or(0), get(11) + get(12)))
}

fn process_ticks(pid: &str) -> u64 {
    stat(pid).map_or(0, |(_, t)| t)
}

/// Ticks of `root` and every live descendant (exited ones are not counted).
fn tree_ticks(root: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    let mut procs: HashMap<u32, (u32, u64)> = HashMap::new();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let (Ok(pid), Some(s)) = (name.parse::<u32>(), stat(name)) {
            procs.insert(pid, s);
        }
    }
    let mut total = 0;
    for (&pid, &(_, ticks)) in &procs {
        // Walk up the parents; bounded by the number of processes.
        let mut cur = pid;
        for _ in 0..procs.len() {
            if cur == root {
                total += ticks;
                break;
            }
            match procs.get(&cur) {
                Some(&(ppid, _)) if ppid != 0 && ppid != cur => cur = ppid,
                _ => break,
            }
        }
    }
    total
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
    pid: u32,
    server: u64,
    tree: u64,
    bench: u64,
    machine: u64,
    at: Instant,
}

impl Sample {
    pub fn take(pid: u32) -> Self {
        Self {
            pid,
            server: process_ticks(&pid.to_string()),
            tree: tree_ticks(pid),
            bench: process_ticks("self"),
            machine: machine_busy_ticks(),
            at: Instant::now(),
        }
    }

    /// CPU seconds used since `self`.
    pub fn since(&self) -> Usage {
        let now = Self::take(self.pid);
        let t = clk_tck();
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / t;
        let server = d(now.server, self.server);
        let tree = d(now.tree, self.tree).max(server);
        let bench = d(now.bench, self.bench);
        let machine = d(now.machine, self.machine);
        Usage { server, tree, bench, other: (machine - tree - bench).max(0.0), wall: (now.at - self.at).as_secs_f64() }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub server: f64,
    /// The server and its descendants: for the host, that includes its PostgreSQL.
    pub tree: f64,
    pub bench: f64,
    /// Machine busy time outside the server's tree and the bench: other people's work.
    pub other: f64,
    pub wall: f64,
}

impl Usage {
    pub fn row(&self) -> String {
        format!("{:.1} / {:.1} / {:.1} / {:.1} (wall {:.1})", self.server, self.tree, self.bench, self.other, self.wall)
    }

    /// The server tree's share of one core over the wall time, in percent.
    pub fn tree_pct(&self) -> f64 {
        if self.wall > 0.0 { 100.0 * self.tree / self.wall } else { 0.0 }
    }

    pub fn json(&self) -> Value {
        json!({
            "server_cpu_secs": r3(self.server),
            "server_with_children_cpu_secs": r3(self.tree),
            "bench_cpu_secs": r3(self.bench),
            "other_cpu_secs": r3(self.other),
            "wall_secs": r3(self.wall),
        })
    }
}

/// The table label for [`Usage::row`].
pub const LABEL: &str = "CPU s server / +children / bench / other";
