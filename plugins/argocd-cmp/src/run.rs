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
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| Error::Spawn(format!("{what}: {e}")))? {
            break status;
        }
        let why = if stop.requested() {
            Some("terminated (SIGTERM)")
        } else if Instant::now() >= deadline {
            Some("deadline")
        } else {
            None
        };
        if let Some(why) = why {
            end_group(&mut child, group);
            // The pipes close with the group; the readers finish.
            let _ = stdout.join();
            let _ = stderr.join();
            return Err(if why == "deadline" {
                Error::Deadline(what.to_string())
            } else {
                Error::Terminated(what.to_string())
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Finished {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// SIGTERM the group, give it 2 s, then SIGKILL it, and reap the child.
fn end_group(child: &mut std::process::Child, group: rustix::process::Pid) {
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
    let grace = Instant::now() + Duration::from_secs(2);
    while Instant::now() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; children of the group may linger.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = child.wait();
}
