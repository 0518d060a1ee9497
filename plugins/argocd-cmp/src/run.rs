//! Running kustomize under a deadline, and every step after it under the
//! same deadline and stop flag.
//!
//! Argo CD gives a render one gRPC deadline (60 s by default); when it
//! expires, argocd-cmp-server's `exec.CommandContext` SIGKILLs the plugin
//! at once and SIGTERMs the rest of its process group, SIGKILL 5 s later
//! (argo-cd v3.5: cmpserver/plugin/plugin.go `runCommand`, ~87 and
//! ~116–129). So kustomize stays in the plugin's process group, where
//! that kill reaches it. We end earlier and cleanly: our own deadline
//! (50 s by default), and on SIGTERM we end kustomize ourselves and exit
//! non-zero with a message, well inside 5 s.
//!
//! A descendant that leaves the process group (`setsid`) would outlive a
//! group kill and could hold kustomize's stdout open forever. So the pipes
//! are read by threads we never wait for past the deadline, and the
//! sidecar makes itself a child subreaper ([`become_subreaper`]): orphans
//! reparent to it, and after kustomize every remaining child is killed and
//! reaped ([`sweep_children`]), whatever group or session it moved to.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

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

    /// What SIGTERM does, for callers that stop a render themselves.
    pub fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How often a wait looks at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// The render's deadline and stop flag, checked by every step.
#[derive(Clone)]
pub struct Budget {
    pub deadline: Instant,
    pub stop: Stop,
}

impl Budget {
    pub fn new(deadline: Instant, stop: Stop) -> Self {
        Budget { deadline, stop }
    }

    /// `Err` naming `what` once SIGTERM arrived or the deadline passed.
    pub fn check(&self, what: &str) -> Result<(), Error> {
        if self.stop.requested() {
            Err(Error::Terminated(what.to_string()))
        } else if Instant::now() >= self.deadline {
            Err(Error::Deadline(what.to_string()))
        } else {
            Ok(())
        }
    }

    /// Wait for a worker's answer while the budget lasts; a worker still
    /// busy then is abandoned (the process is about to exit).
    pub fn wait<T>(&self, what: &str, answer: &Receiver<Result<T, Error>>) -> Result<T, Error> {
        loop {
            self.check(what)?;
            let left = self.deadline.saturating_duration_since(Instant::now());
            match answer.recv_timeout(left.min(TICK)) {
                Ok(result) => return result,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::Spawn(format!("{what}: the worker ended without an answer")));
                }
            }
        }
    }
}

/// Make this process the reaper of its orphaned descendants
/// (`PR_SET_CHILD_SUBREAPER`), so none escapes [`sweep_children`]. For the
/// binary to call once; without it, only kustomize itself is ended by us
/// (and its process group by Argo CD).
pub fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).map_err(Into::into)
}

/// What a finished child printed.
pub struct Finished {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The most kustomize may print: a ManifestResponse larger than Argo CD's
/// gRPC message limit cannot be delivered anyway. argocd-cmp-server reads
/// `ARGOCD_GRPC_MAX_SIZE_MB` (default 100) from the sidecar's environment
/// (argo-cd: cmpserver/apiclient/clientset.go, `MaxGRPCMessageSize`), and
/// the plugin inherits it; an Application cannot set it (its variables
/// arrive prefixed `ARGOCD_ENV_`).
pub fn max_render(setting: Option<&str>) -> Result<usize, Error> {
    let Some(text) = setting.filter(|t| !t.is_empty()) else { return Ok(100 << 20) };
    text.trim().parse::<usize>().ok().filter(|mib| (1..=1 << 20).contains(mib)).map(|mib| mib << 20).ok_or_else(|| {
        Error::Setting { name: "ARGOCD_GRPC_MAX_SIZE_MB", message: format!("{text:?} is not a whole number of MiB") }
    })
}

/// The end of kustomize's stderr that is kept (its error is at the end).
const STDERR_KEPT: usize = 64 << 10;

enum Pipe {
    Out(Result<Vec<u8>, usize>),
    Err(Vec<u8>),
}

/// Read `pipe` to its end on a thread of its own; `Err(n)` when it passed
/// `cap` bytes (reading stops there). The thread is never joined: a pipe
/// a stray descendant holds open must not hold the render.
fn drain(
    mut pipe: impl Read + Send + 'static,
    cap: usize,
    keep_tail: bool,
    tell: impl FnOnce(Result<Vec<u8>, usize>) + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.extend_from_slice(&chunk[..n]);
                    if bytes.len() > cap {
                        if !keep_tail {
                            return tell(Err(bytes.len()));
                        }
                        bytes.drain(..bytes.len() - cap);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        tell(Ok(bytes));
    });
}

/// Run `command` until it exits and its pipes close, the budget runs out,
/// or it prints more than `max_render` bytes. On every path it and every
/// descendant reparented here are ended and reaped.
pub fn run(mut command: Command, what: &str, budget: &Budget, max_render: usize) -> Result<Finished, Error> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| Error::Spawn(format!("{what}: {e}")))?;
    let (sender, pipes) = std::sync::mpsc::channel();
    let (out, err) = (child.stdout.take(), child.stderr.take());
    if let (Some(out), Some(err)) = (out, err) {
        let tell = sender.clone();
        drain(out, max_render, false, move |r| drop(tell.send(Pipe::Out(r))));
        drain(err, STDERR_KEPT, true, move |r| drop(sender.send(Pipe::Err(r.unwrap_or_default()))));
    }
    let result = collect(&mut child, what, budget, &pipes, max_render);
    if result.is_err() {
        end(&mut child);
    }
    let status = child.wait();
    sweep_children();
    let (stdout, stderr) = result?;
    let status = status.map_err(|e| Error::Spawn(format!("{what}: {e}")))?;
    Ok(Finished { success: status.success(), stdout, stderr })
}

/// Wait for the child's exit and both pipes' ends, within the budget.
fn collect(
    child: &mut Child,
    what: &str,
    budget: &Budget,
    pipes: &Receiver<Pipe>,
    max_render: usize,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (mut stdout, mut stderr, mut exited) = (None, None, false);
    while !(exited && stdout.is_some() && stderr.is_some()) {
        budget.check(what)?;
        let left = budget.deadline.saturating_duration_since(Instant::now());
        match pipes.recv_timeout(left.min(TICK)) {
            Ok(Pipe::Out(Ok(bytes))) => stdout = Some(bytes),
            Ok(Pipe::Out(Err(_))) => return Err(Error::TooLarge { command: what.to_string(), mib: max_render >> 20 }),
            Ok(Pipe::Err(bytes)) => stderr = Some(bytes),
            Err(RecvTimeoutError::Timeout) => {}
            // Both pipes told, the child not yet gone: wait for it without spinning.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(1)),
        }
        exited = exited || child.try_wait().map_err(|e| Error::Spawn(format!("{what}: {e}")))?.is_some();
    }
    Ok((stdout.unwrap_or_default(), stderr.unwrap_or_default()))
}

/// SIGTERM the child, give it 1 s to exit (kustomize ends its plugins),
/// then SIGKILL it. Its own children reparent here and are swept.
fn end(child: &mut Child) {
    // Only while not yet reaped: until then its pid cannot be reused.
    if matches!(child.try_wait(), Ok(None)) {
        let _ = rustix::process::kill_process(Pid::from_child(child), Signal::TERM);
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(TICK);
        }
    }
    // std's kill does nothing once the child is reaped.
    let _ = child.kill();
}

/// SIGKILL and reap every child this process still has — kustomize's
/// descendants, reparented here when their parent died — until none is
/// left (their own children reparent here as they die). Only when this
/// process is a subreaper: otherwise its children are not ours to end
/// (a test harness, a library caller).
pub fn sweep_children() {
    if !rustix::process::child_subreaper().is_ok_and(|p| p.is_some()) {
        return;
    }
    let me = rustix::process::getpid();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let children = children_of(me);
        if children.is_empty() {
            return;
        }
        for pid in children {
            // Still our unreaped child, so the pid cannot have been reused.
            let _ = rustix::process::kill_process(pid, Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
    }
}

/// Processes whose parent is `parent`, from /proc (`PPid` is the 4th field
/// of `/proc/<pid>/stat`, after the parenthesised command name).
fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let after_name = &stat[stat.rfind(')')? + 1..];
            let ppid: i32 = after_name.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent.as_raw_nonzero().get()).then(|| Pid::from_raw(pid)).flatten()
        })
        .collect()
}
