//! Where the CPU went during a phase: the server processes (one, or the hosts of a cluster),
//! the servers with their descendants and the processes they share (the host's managed
//! PostgreSQL runs under it; a cluster adds the relay and the proxy), this bench, and
//! everything else on the machine, from /proc.

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

/// Every live process as pid -> (ppid, ticks).
fn processes() -> HashMap<u32, (u32, u64)> {
    let mut procs = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return procs };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let (Ok(pid), Some(s)) = (name.parse::<u32>(), stat(name)) {
            procs.insert(pid, s);
        }
    }
    procs
}

/// Ticks of the `roots` and every live descendant of any of them, each process once
/// (exited ones are not counted).
fn tree_ticks(roots: &[u32]) -> u64 {
    let procs = processes();
    let mut total = 0;
    for (&pid, &(_, ticks)) in &procs {
        // Walk up the parents; bounded by the number of processes.
        let mut cur = pid;
        for _ in 0..procs.len() {
            if roots.contains(&cur) {
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

/// The live children of `pid` (e.g. a host's managed PostgreSQL).
pub fn children(pid: u32) -> Vec<u32> {
    let mut out: Vec<u32> = processes().into_iter().filter(|(_, (ppid, _))| *ppid == pid).map(|(p, _)| p).collect();
    out.sort_unstable();
    out
}

/// Live descendants of `root` whose command name is `comm` (e.g. the `workerd` that
/// `wrangler dev` starts).
pub fn descendants_named(root: u32, comm: &str) -> Vec<u32> {
    let procs = processes();
    let mut out: Vec<u32> = procs
        .keys()
        .copied()
        .filter(|&pid| {
            let mut cur = pid;
            for _ in 0..procs.len() {
                match procs.get(&cur) {
                    Some(&(ppid, _)) if ppid == root => return true,
                    Some(&(ppid, _)) if ppid != 0 && ppid != cur => cur = ppid,
                    _ => return false,
                }
            }
            false
        })
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect();
    out.sort_unstable();
    out
}

/// Busy ticks of the whole machine (all CPUs), from the first line of /proc/stat.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(line) = stat.lines().next() else { return 0 };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
    v.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).take(8).map(|(_, x)| *x).sum()
}

#[derive(Debug, Clone)]
pub struct Sample {
    pids: Vec<u32>,
    shared: Vec<u32>,
    server: u64,
    tree: u64,
    bench: u64,
    machine: u64,
    at: Instant,
}

impl Sample {
    /// `pids` are the servers (summed), `shared` processes whose trees count in `+children`
    /// besides the servers' own descendants.
    pub fn take(pids: &[u32], shared: &[u32]) -> Self {
        let roots: Vec<u32> = pids.iter().chain(shared).copied().collect();
        Self {
            pids: pids.to_vec(),
            shared: shared.to_vec(),
            server: pids.iter().map(|p| process_ticks(&p.to_string())).sum(),
            tree: tree_ticks(&roots),
            bench: process_ticks("self"),
            machine: machine_busy_ticks(),
            at: Instant::now(),
        }
    }

    /// CPU seconds used since `self`.
    pub fn since(&self) -> Usage {
        let now = Self::take(&self.pids, &self.shared);
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
    /// The server processes (every host of a cluster).
    pub server: f64,
    /// The servers and their descendants: for the host, that includes its PostgreSQL; for a
    /// cluster, also the processes the hosts share (PostgreSQL, relay, proxy).
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

    /// The server processes' share of one core over the wall time, in percent.
    pub fn server_pct(&self) -> f64 {
        if self.wall > 0.0 { 100.0 * self.server / self.wall } else { 0.0 }
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
