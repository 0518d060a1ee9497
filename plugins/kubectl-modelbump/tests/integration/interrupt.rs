//! Ctrl-C: exit 130, no file half-written, no temporary file, no edit left
//! behind — whether it arrives while the registry is being asked or while
//! the commit is being made.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use gpuops_testkit::git;
use gpuops_testkit::interrupt::{SilentServer, interrupt, wait_at_most};

use crate::util::{HELMRELEASE, Repo, seeded_registry, text};

/// Nothing in the work tree differs from HEAD: no edit, nothing staged, no
/// temporary file (`git status` lists untracked files too).
fn assert_clean(repo: &Repo, commits: usize) {
    assert_eq!(git(repo.path(), &["status", "--porcelain", "--untracked-files=all"]).trim(), "");
    assert_eq!(repo.commits(), commits);
}

/// A registry that accepts the connection and never answers: the run is
/// waiting on it when Ctrl-C comes, and stops at once with 130.
#[test]
fn ctrl_c_while_the_registry_is_asked_exits_130_and_changes_nothing() {
    let silent = SilentServer::start();
    let repo = Repo::seed(silent.host());
    let before = repo.read(HELMRELEASE);
    let child = repo.command(&["apply", ".", "--commit"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    interrupt(&child);
    let out = wait_at_most(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(repo.read(HELMRELEASE), before);
    assert_clean(&repo, 1);
}

/// Ctrl-C while `git commit` runs (a pre-commit hook presses it, for the
/// whole process group as a terminal does): git stops, the written file is
/// put back, and modelbump says so and exits 130.
#[test]
fn ctrl_c_during_the_commit_puts_the_files_back_and_exits_130() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let before = repo.read(HELMRELEASE);
    repo.hook("pre-commit", "#!/bin/sh\nkill -INT 0\nsleep 5\nexit 0\n");

    let child = repo
        .command(&["apply", ".", "--commit"])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_at_most(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("interrupted: the commit did not happen and the 1 file(s) written were put back"),
        "{stderr}"
    );
    assert_eq!(repo.read(HELMRELEASE), before, "no edit left behind");
    assert_clean(&repo, 1);
}
