//! Running kustomize under a deadline, as a process group we can end.
//!
//! Argo CD gives a render one gRPC deadline (60 s by default) and, when it
//! expires, SIGTERMs the plugin's process group and SIGKILLs it 5 s later
//! (argo-cd: cmpserver/plugin/plugin.go, `runCommand`). We end earlier and
//! cleanly: our own deadline (50 s by default), and on SIGTERM we end the
//! kustomize child's group ourselves and exit with a message, well inside 5 s.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt as _;

use crate::Error;

/// Set by SIGTERM (or SIGINT).
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Register for SIGTERM and SIGINT.
    pub fn install() -> Self {
        let stop = Stop::default();
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            let _ = signal_hook::flag::register(signal, Arc::clone(&stop.0));
        }
        stop
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a finished child printed.
pub struct Finished {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Run `command` in its own process group until it exits, `deadline`
/// passes, or `stop` is requested; in the last two cases the whole group is
/// sent SIGTERM, then SIGKILL after a grace period, and reaped.
///
/// A waiter thread blocks in `wait()` and reports the exit at once, so a
/// render is not delayed by polling; the signal flag is looked at every
/// 50 ms while kustomize runs.
pub fn run(mut command: Command, what: &str, deadline: Instant, stop: &Stop) -> Result<Finished, Error> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn().map_err(|e| Error::Spawn(format!("{what}: {e}")))?;
    let group = rustix::process::Pid::from_child(&child);
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let (exited, exit) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = exited.send(());
        status
    });
    let reaped = |waiter: std::thread::JoinHandle<std::io::Result<std::process::ExitStatus>>| {
        waiter.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match exit.recv_timeout(left.min(Duration::from_millis(50))) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let why = if stop.requested() {
            Some("terminated (SIGTERM)")
        } else if Instant::now() >= deadline {
            Some("deadline")
        } else {
            None
        };
        if let Some(why) = why {
            end_group(group, &exit);
            let _ = reaped(waiter);
            // The pipes close with the group; the readers finish.
            let _ = stdout.join();
            let _ = stderr.join();
            return Err(if why == "deadline" {
                Error::Deadline(what.to_string())
            } else {
                Error::Terminated(what.to_string())
            });
        }
    }
    let status = reaped(waiter).map_err(|e| Error::Spawn(format!("{what}: {e}")))?;
    Ok(Finished {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// SIGTERM the group, give the leader 2 s to exit (`exit` hears of it),
/// then SIGKILL whatever is left of the group.
fn end_group(group: rustix::process::Pid, exit: &std::sync::mpsc::Receiver<()>) {
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    // Whether the leader went or not, children of the group may linger.
    let _ = exit.recv_timeout(Duration::from_secs(2));
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}
