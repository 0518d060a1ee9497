//! For Ctrl-C tests: a server that accepts and never answers (the run is
//! waiting on it when the signal comes), and SIGINT plus a bounded wait.

use std::net::TcpListener;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// A TCP server on 127.0.0.1 that accepts every connection and never
/// writes a byte; connections stay open for the test's life.
pub struct SilentServer {
    address: String,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().collect();
            drop(held);
        });
        SilentServer { address }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.address
    }
}

/// Send SIGINT to `child` (as `kill -INT` does).
pub fn interrupt(child: &Child) {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success(), "kill -INT {}", child.id());
}

/// Wait for `child` and collect its output, failing the test (and killing
/// the child) if it is still running after `limit`.
pub fn wait_at_most(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} later");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}
