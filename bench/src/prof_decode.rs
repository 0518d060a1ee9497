//! Decode a cluster dump in process, several times, and print the times:
//! the loop to run under `perf record` when the snapshot reader is tuned.
//!
//! ```text
//! cargo run --release -p gpuops-bench --bin prof-decode -- cluster.json [ROUNDS]
//! ```
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: prof-decode DUMP.json [ROUNDS]");
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(7);
    let bytes = std::fs::read(&path).expect("read the dump");
    let mut times: Vec<(Duration, Duration)> = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let cluster = gpuops_schedule::cluster::from_json_dump(&bytes, &path).expect("decode");
        let decoded = started.elapsed();
        let usage = gpuops_schedule::scheduler::usage(&cluster);
        assert_eq!(usage.len(), cluster.nodes.len());
        times.push((decoded, started.elapsed() - decoded));
    }
    times.sort();
    let (decode, usage) = times[times.len() / 2];
    println!(
        "{path}: decode median {:.0} ms (min {:.0}), per-node usage {:.0} ms, {rounds} rounds",
        decode.as_secs_f64() * 1e3,
        times[0].0.as_secs_f64() * 1e3,
        usage.as_secs_f64() * 1e3
    );
}
