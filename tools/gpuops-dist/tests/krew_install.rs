//! Archives installed with krew v0.4.5's installer rules (internal/
//! download/downloader.go, internal/installation/{install,move}.go and
//! validate-krew-manifest's licence check) into a fake krew root: the
//! cases where the previous check disagreed with krew (issue 24), each
//! one accepted or refused as krew does.

use std::path::Path;

use gpuops_release::install::{InstallError, install_file};
use gpuops_release::krew::{FileOperation, Platform, Selector};

/// A `.tar.gz` with raw entry names (the tar crate's own path checks would
/// refuse the hostile ones): (name, type byte, data or link target, mode).
fn tar_gz(entries: &[(&str, u8, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, kind, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(tar::EntryType::new(*kind));
        h.set_mode(*mode);
        if *kind == b'2' {
            h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
            h.set_size(0);
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn zip(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let list: Vec<(String, Vec<u8>, u32)> = entries.iter().map(|(n, d, m)| (n.to_string(), d.to_vec(), *m)).collect();
    let mut out = Vec::new();
    gpuops_release::zip::write(&mut out, &list).unwrap();
    out
}

const EXE: &[u8] = b"#!/bin/sh\necho installed-ok\n";

fn platform(bin: &str, files: Option<&[(&str, &str)]>, data: &[u8]) -> Platform {
    Platform {
        uri: "https://example.com/a".into(),
        sha256: gpuops_release::sha256_hex(data),
        bin: bin.into(),
        selector: Some(Selector::default()),
        files: files.map(|f| f.iter().map(|(a, b)| FileOperation { from: a.to_string(), to: b.to_string() }).collect()),
    }
}

/// Install `data` with `p` into a fresh krew root; on success run the
/// linked plugin.
fn run(data: &[u8], p: &Platform) -> Result<String, InstallError> {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::write(&archive, data).unwrap();
    let root = dir.path().join("krew");
    let installed = install_file(&root, "x", "v1.0.0", p, &archive)?;
    assert_eq!(installed.link, root.join("bin/kubectl-x"));
    assert!(installed.dir.starts_with(root.join("store/x/v1.0.0")));
    let out = std::process::Command::new(&installed.link).output().unwrap();
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ok(data: &[u8], p: &Platform) {
    assert_eq!(run(data, p).unwrap_or_else(|e| panic!("{e}")), "installed-ok\n");
}

fn refused(data: &[u8], p: &Platform, expect: &str) {
    let e = run(data, p).expect_err(expect).to_string();
    assert!(e.contains(expect), "{expect}: {e}");
    assert!(!e.contains('\n'));
}

const LICENSE: (&str, u8, &[u8], u32) = ("LICENSE", b'0', b"Apache-2.0", 0o644);

/// Accepted as krew accepts them: flat, `./`-prefixed entries, `bin: ./x`,
/// files in a folder, `files:` moves out of a folder and globs, a zip
/// (exec bit kept), a zip symlink entry written as a file (Go's
/// archive/zip + os.OpenFile), a LICENSE in a sub-folder.
#[test]
fn archives_krew_installs() {
    let flat = tar_gz(&[("kubectl-x", b'0', EXE, 0o755), LICENSE]);
    ok(&flat, &platform("kubectl-x", None, &flat));
    let dotted =
        tar_gz(&[("./", b'5', b"", 0o755), ("./kubectl-x", b'0', EXE, 0o755), ("./LICENSE", b'0', b"l", 0o644)]);
    ok(&dotted, &platform("kubectl-x", None, &dotted));
    ok(&dotted, &platform("./kubectl-x", None, &dotted));
    let folder = tar_gz(&[
        ("dist/", b'5', b"", 0o755),
        ("dist/kubectl-x", b'0', EXE, 0o755),
        ("dist/LICENSE", b'0', b"l", 0o644),
    ]);
    ok(&folder, &platform("dist/kubectl-x", None, &folder));
    ok(&folder, &platform("kubectl-x", Some(&[("dist/kubectl-x", "."), ("dist/LICENSE", ".")]), &folder));
    ok(&folder, &platform("bin/kubectl-x", Some(&[("dist/*", "bin")]), &folder));
    ok(&folder, &platform("tool", Some(&[("dist/kubectl-x", "tool"), ("dist/LICENSE", "LICENSE")]), &folder));
    let z = zip(&[("kubectl-x", EXE, 0o755), ("LICENSE", b"l", 0o644)]);
    ok(&z, &platform("kubectl-x", None, &z));
    let zdir = zip(&[("d/kubectl-x", EXE, 0o755), ("d/LICENSE", b"l", 0o644)]);
    ok(&zdir, &platform("d/kubectl-x", None, &zdir));
    // A zip "symlink" LICENSE (mode 0120777 in Unix attributes) is written
    // as a regular file by krew, so the licence check finds it.
    let zlink = zip_with_symlink_license();
    ok(&zlink, &platform("kubectl-x", None, &zlink));
}

fn zip_with_symlink_license() -> Vec<u8> {
    let mut data = zip(&[("kubectl-x", EXE, 0o755), ("LICENSE", b"../../etc/passwd", 0o777)]);
    // Turn the second central-directory entry's type bits into S_IFLNK.
    let cd = data.windows(4).rposition(|w| w == b"PK\x01\x02").unwrap();
    data[cd + 38 + 2..cd + 38 + 4].copy_from_slice(&(0o120_777u16).to_le_bytes());
    data
}

/// Refused as krew refuses them, each with a one-line reason.
#[test]
fn archives_krew_refuses() {
    let link = tar_gz(&[("kubectl-x", b'2', b"/bin/sh", 0o777), LICENSE]);
    refused(&link, &platform("kubectl-x", None, &link), "is neither a file nor a directory (a link?)");
    let hard = tar_gz(&[("kubectl-x", b'1', b"LICENSE", 0o755), LICENSE]);
    refused(&hard, &platform("kubectl-x", None, &hard), "is neither a file nor a directory");
    let up = tar_gz(&[("../kubectl-x", b'0', EXE, 0o755), LICENSE]);
    refused(&up, &platform("kubectl-x", None, &up), "archive entry \"../kubectl-x\" contains `..`");
    let dots = tar_gz(&[("kubectl-x..1", b'0', EXE, 0o755), LICENSE]);
    refused(&dots, &platform("kubectl-x", None, &dots), "contains `..`");
    let abs = tar_gz(&[("/tmp/kubectl-x", b'0', EXE, 0o755), LICENSE]);
    refused(&abs, &platform("kubectl-x", None, &abs), "archive entry \"/tmp/kubectl-x\" is absolute");
    let zup = zip(&[("a/../../kubectl-x", EXE, 0o755)]);
    refused(&zup, &platform("kubectl-x", None, &zup), "contains `..`");
    let flat = tar_gz(&[("kubectl-x", b'0', EXE, 0o755), LICENSE]);
    // `files:` that leaves LICENSE behind fails validate-krew-manifest.
    refused(&flat, &platform("kubectl-x", Some(&[("kubectl-x", ".")]), &flat), "no licence file");
    refused(&flat, &platform("kubectl-x", Some(&[("*", "./bin")]), &flat), "files[0].to \"./bin\" is not a clean path");
    refused(&flat, &platform("kubectl-x", Some(&[("*.exe", ".")]), &flat), "files[0].from \"*.exe\" matches nothing");
    refused(&flat, &platform("kubectl-x", Some(&[("[", ".")]), &flat), "is not a valid glob pattern");
    refused(&flat, &platform("kubectl-x", Some(&[("../krew-temp-move", ".")]), &flat), "files[0] moves a file outside");
    refused(
        &flat,
        &platform("../../../../bin/sh", None, &flat),
        "bin \"../../../../bin/sh\" is outside the install directory",
    );
    refused(&flat, &platform("kubectl-y", None, &flat), "bin \"kubectl-y\" is not in the installed files");
    let mut wrong = platform("kubectl-x", None, &flat);
    wrong.sha256 = "0".repeat(64);
    refused(&flat, &wrong, "the manifest's sha256 differs");
    refused(b"#!/bin/sh\n", &platform("kubectl-x", None, b"#!/bin/sh\n"), "neither gzip nor zip");
}

/// The Windows packer writes a zip that the reader (as Go's archive/zip
/// reads it) gives back byte for byte, with the binary executable.
#[test]
fn windows_zip_packer_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, license) = (dir.path().join("kubectl-x.exe"), dir.path().join("LICENSE"));
    std::fs::write(&bin, vec![7u8; 300_000]).unwrap();
    std::fs::write(&license, "Apache-2.0").unwrap();
    let out = dir.path().join("kubectl-x-v1.0.0-x86_64-pc-windows-msvc.zip");
    gpuops_release::archive::pack_zip(&out, &bin, "kubectl-x.exe", &license).unwrap();
    let data = std::fs::read(&out).unwrap();
    assert!(data.len() < 10_000, "deflated: {}", data.len());
    let entries = gpuops_release::zip::read(&data).unwrap();
    let names: Vec<(&str, u32, usize)> = entries.iter().map(|e| (e.name.as_str(), e.mode, e.data.len())).collect();
    assert_eq!(names, [("kubectl-x.exe", 0o755, 300_000), ("LICENSE", 0o644, 10)]);
    // `unzip -l` (Info-ZIP) reads it too.
    let listed = std::process::Command::new("unzip").arg("-l").arg(&out).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("kubectl-x.exe"), "{listed:?}");
    let root = dir.path().join("krew");
    let p = Platform { sha256: gpuops_release::sha256_hex(&data), bin: "kubectl-x.exe".into(), ..Platform::default() };
    install_file(&root, "x", "v1.0.0", &p, Path::new(&out)).unwrap();
}
