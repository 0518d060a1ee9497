//! The archive unpacked as krew v0.4.5 unpacks it:
//! internal/download/downloader.go `extractArchive` (:198-209, the type by
//! content sniffing, Go net/http `DetectContentType`), `extractTARGZ`
//! (:103-162), `extractZIP` (:52-100) and `suspiciousPath` (:164-174).

use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use super::InstallError;
use super::paths::{as_str, join};

/// downloader.go:164-174: any `..` in an entry name, or a leading `/` or
/// `\`, refuses the whole archive.
fn suspicious_path(name: &str) -> Result<(), InstallError> {
    if name.contains("..") {
        return Err(InstallError::Suspicious { entry: crate::krew::shown(name) });
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(InstallError::Absolute { entry: crate::krew::shown(name) });
    }
    Ok(())
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io { what: what.to_string(), source }
}

fn mkdir_all(path: &str, mode: u32) -> Result<(), InstallError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(mode);
    // Go's os.MkdirAll on Windows ignores the permission bits.
    #[cfg(not(unix))]
    let _ = mode;
    builder.create(path).map_err(io("creating a directory from the archive"))
}

/// A file created with the entry's permission bits (Go's os.OpenFile;
/// on Windows only the read-only bit would count, and krew's entries are
/// written, so the bits are not applied there).
fn create_file(path: &str, mode: u32, truncate: bool) -> Result<std::fs::File, InstallError> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(truncate);
    #[cfg(unix)]
    options.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path).map_err(io("creating a file from the archive"))
}

/// downloader.go:198-209: gzip (`\x1f\x8b\x08`) or zip (`PK\x03\x04`), by
/// the first bytes, whatever the URI's extension.
pub(super) fn extract(dir: &Path, data: &[u8]) -> Result<(), InstallError> {
    if data.starts_with(b"PK\x03\x04") {
        extract_zip(dir, data)
    } else if data.starts_with(b"\x1f\x8b\x08") {
        extract_tar_gz(dir, data)
    } else {
        Err(InstallError::Format)
    }
}

/// downloader.go:103-162: directories and regular files only (a symlink,
/// hard link or device refuses the archive); a file is opened without
/// truncation, as Go's `os.O_CREATE|os.O_WRONLY` does.
fn extract_tar_gz(dir: &Path, data: &[u8]) -> Result<(), InstallError> {
    let target = as_str(dir);
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(data));
    let tar_err = |e: std::io::Error| InstallError::Io { what: "reading the tar.gz archive".into(), source: e };
    for entry in archive.entries().map_err(tar_err)? {
        let mut entry = entry.map_err(tar_err)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // downloader.go:124-127 (see golang.org/cl/78355).
        if name == "pax_global_header" {
            continue;
        }
        suspicious_path(&name)?;
        let path = join(&target, &name);
        let mode = entry.header().mode().map_err(tar_err)? & 0o7777;
        let kind = entry.header().entry_type();
        // Go's tar reader turns an old-style regular file whose name ends
        // in `/` into a directory (archive/tar reader.go, TypeRegA).
        let old_dir = kind.as_byte() == 0 && name.ends_with('/');
        if kind.is_dir() || old_dir {
            mkdir_all(&path, mode)?;
        } else if kind.is_file() {
            mkdir_all(&super::paths::dir(&path), 0o755)?;
            let mut out = create_file(&path, mode, false)?;
            std::io::copy(&mut entry, &mut out).map_err(tar_err)?;
        } else {
            return Err(InstallError::EntryType { entry: crate::krew::shown(&name) });
        }
    }
    Ok(())
}

/// downloader.go:52-100: a directory entry is made, anything else is
/// written as a regular file with the entry's permission bits (so a
/// symlink entry becomes a file holding its target, as in krew).
fn extract_zip(dir: &Path, data: &[u8]) -> Result<(), InstallError> {
    let target = as_str(dir);
    let entries = crate::zip::read(data).map_err(InstallError::Zip)?;
    for e in entries {
        suspicious_path(&e.name)?;
        let path = join(&target, &e.name);
        if e.dir {
            mkdir_all(&path, e.mode)?;
            continue;
        }
        mkdir_all(&super::paths::dir(&path), 0o755)?;
        let mut out = create_file(&path, e.mode, true)?;
        out.write_all(&e.data).map_err(io("writing a file from the archive"))?;
    }
    Ok(())
}

/// The whole archive at `path` (krew reads the download into memory, downloader.go:42).
pub(super) fn read_archive(path: &Path) -> Result<Vec<u8>, InstallError> {
    let mut data = Vec::new();
    std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data)).map_err(io("reading the archive"))?;
    Ok(data)
}
