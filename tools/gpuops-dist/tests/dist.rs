//! scripts/dist.sh end to end (issue 24): the static check by ELF, then a
//! real release run — static musl release builds of both plugins (reusing
//! the suite's release build: same flags, same --target, the target directory
//! given by CARGO_TARGET_DIR), archives, krew manifests rendered and
//! validated — and the archives installed with krew's rules into a fake
//! krew root, from where `kubectl <name> --help` and the completion script
//! run.
#![allow(clippy::disallowed_methods)] // the harness reads its own environment (cargo's variables, PATH)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dist(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/dist.sh")).args(args);
    // Not the variables cargo sets for this test (ring would rebuild), but
    // the suite's CARGO_PROFILE_*: the images' build and this one are one.
    gpuops_testkit::outside_cargo_test(&mut cmd);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A dynamically linked file (this test's own debug gpuops-dist, linked
/// against libc), a missing file and a non-ELF file are refused, each
/// with one line naming it. (The previous `if ldd …` check let a missing
/// file through and refused every static-pie build.)
#[test]
fn static_check_refuses_dynamic_missing_and_non_elf_files() {
    let dynamic = env!("CARGO_BIN_EXE_gpuops-dist");
    let missing = repo().join("target/no-such-binary");
    let license = repo().join("LICENSE");
    for (file, expect) in [
        (PathBuf::from(dynamic), "is dynamically linked (needs "),
        (missing, "no such file"),
        (license, "not an ELF file"),
    ] {
        let out = dist(&["--check-static", file.to_str().unwrap()], &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", file.display());
        assert!(err.contains(expect) && err.lines().count() == 1, "{expect}: {err}");
        assert!(!expect.contains("dynamically") || err.contains("libc.so.6"), "{err}");
    }
    assert_eq!(dist(&["--check-static"], &[]).status.code(), Some(2));
}

/// The cargo target directory this test was built in.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_gpuops-dist")).parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// A target directory of its own whose profile folders are the suite's
/// (symlinks), so CARGO_TARGET_DIR is exercised without a second build.
fn linked_target_dir(work: &Path, static_target: &str) -> PathBuf {
    let linked = work.join("target");
    std::fs::create_dir_all(&linked).unwrap();
    for dir in ["release", static_target] {
        std::fs::create_dir_all(target_dir().join(dir)).unwrap();
        std::os::unix::fs::symlink(target_dir().join(dir), linked.join(dir)).unwrap();
    }
    linked
}

/// The musl target of this machine's architecture, which the static
/// builds use (scripts/static-packages.sh).
fn static_target() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    let host = text(&out.stdout).lines().find_map(|l| l.strip_prefix("host: ")).unwrap().to_string();
    format!("{}-unknown-linux-musl", host.split('-').next().unwrap())
}

/// Prints how long the run took (the suite's cost of this test).
#[test]
#[allow(clippy::print_stderr)]
fn dist_release_installs_with_krew_rules_and_runs_from_kubectl() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let static_target = static_target();
    let target = linked_target_dir(work.path(), &static_target);
    let out_dir = work.path().join("dist");
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let out = dist(
        &[&tag, out_dir.to_str().unwrap()],
        &[("CARGO_TARGET_DIR", &target), ("GPUOPS_DIST", Path::new(env!("CARGO_BIN_EXE_gpuops-dist")))],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    // CARGO_TARGET_DIR honoured: the binaries come from it.
    assert!(
        stdout.contains(&format!("dist: static binaries in {}/{static_target}/release", target.display())),
        "{stdout}"
    );
    let checksums = std::fs::read_to_string(out_dir.join("checksums.txt")).unwrap();
    assert_eq!(checksums.lines().count(), 2, "{checksums}");
    for (name, subcommand) in [("modelbump", "apply"), ("gpufit", "check")] {
        let archive = out_dir.join(format!("kubectl-{name}-{tag}-{static_target}.tar.gz"));
        let data = std::fs::read(&archive).unwrap();
        let archive_name = archive.file_name().unwrap().to_str().unwrap();
        assert!(checksums.contains(&format!("{}  {archive_name}\n", gpuops_release::sha256_hex(&data))));
        let manifest = out_dir.join(format!("krew/{name}.yaml"));
        // The CLI CI would run on the rendered manifest and its archive.
        let validated = Command::new(env!("CARGO_BIN_EXE_gpuops-dist"))
            .args([
                "validate",
                manifest.to_str().unwrap(),
                "--archive",
                archive.to_str().unwrap(),
                "--platform",
                "linux/amd64",
            ])
            .output()
            .unwrap();
        assert!(validated.status.success(), "{}{}", text(&validated.stdout), text(&validated.stderr));
        installed_plugin_runs(work.path(), name, subcommand, &manifest, &archive);
    }
    eprintln!("dist.sh end to end: {:.0} s", started.elapsed().as_secs_f64());
}

/// Install as krew would into `<work>/krew`, then run `kubectl NAME --help`
/// with the krew bin folder on PATH, and the completion script from the
/// store (krew does not link it; the user does).
fn installed_plugin_runs(work: &Path, name: &str, subcommand: &str, manifest: &Path, archive: &Path) {
    let text_manifest = std::fs::read_to_string(manifest).unwrap();
    let plugin = gpuops_release::krew::validate(manifest.to_str().unwrap(), &text_manifest).unwrap().plugin;
    let [platform] = plugin.spec.platforms.as_slice() else { panic!("one platform built here") };
    let root = work.join("krew");
    let installed = gpuops_release::install::install_file(&root, name, &plugin.spec.version, platform, archive)
        .unwrap_or_else(|e| panic!("{e}"));
    let static_ok = dist(&["--check-static", installed.dir.join(&platform.bin).to_str().unwrap()], &[]);
    assert!(static_ok.status.success(), "{}", text(&static_ok.stderr));
    // Linked against musl, not glibc: glibc's crt1.o puts a .note.ABI-tag
    // (NT_GNU_ABI_TAG) into every executable it links, static or not;
    // musl's start files carry none.
    let notes =
        Command::new("readelf").arg("-n").arg(installed.dir.join(&platform.bin)).env("LC_ALL", "C").output().unwrap();
    assert!(notes.status.success(), "{}", text(&notes.stderr));
    assert!(!text(&notes.stdout).contains("NT_GNU_ABI_TAG"), "{name}: a glibc build\n{}", text(&notes.stdout));
    let path = format!("{}:{}", root.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let help = Command::new("kubectl").args([name, "--help"]).env("PATH", &path).output().unwrap();
    assert!(
        text(&help.stdout).contains(&format!("Usage: kubectl {name} ")),
        "{}{}",
        text(&help.stdout),
        text(&help.stderr)
    );
    let words = gpuops_release::complete_as_kubectl(&installed.dir.join(&platform.bin), &[""]).unwrap();
    assert!(words.lines().any(|l| l.starts_with(&format!("{subcommand}\t"))) && words.ends_with(":4\n"), "{words}");
}
