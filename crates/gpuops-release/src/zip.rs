//! Just enough of the ZIP format (PKWARE APPNOTE 6.3.x, as Go's archive/zip
//! reads it) for the Windows release archive: write one with stored
//! Unix modes, and read the entries of one as krew does (stored and
//! deflate; no zip64, no encryption — krew's archives have neither).

use std::io::{Read, Write};

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// Go archive/zip `FileHeader.Mode()` permission bits and whether it is
    /// a directory (struct.go `Mode`).
    pub mode: u32,
    pub dir: bool,
    pub data: Vec<u8>,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// Every entry of `data`, central directory order (Go `zip.Reader.File`).
pub fn read(data: &[u8]) -> Result<Vec<Entry>, String> {
    let bad = |what: &str| format!("not a readable zip archive ({what})");
    // End of central directory: the last signature within 65,557 bytes.
    let from = data.len().saturating_sub(22 + 65_535);
    let eocd = (from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(data, i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end of central directory"))?;
    let count = usize::from(u16_at(data, eocd + 10).ok_or_else(|| bad("short"))?);
    let mut at = u32_at(data, eocd + 16).ok_or_else(|| bad("short"))? as usize;
    if count == 0xffff || at == 0xffff_ffff {
        return Err(bad("zip64"));
    }
    let mut entries = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        if u32_at(data, at) != Some(0x0201_4b50) {
            return Err(bad("central directory"));
        }
        let field = |off: usize| u16_at(data, at + off).ok_or_else(|| bad("short"));
        let (made_by, flags, method) = (field(4)?, field(8)?, field(10)?);
        let crc = u32_at(data, at + 16).ok_or_else(|| bad("short"))?;
        let (csize, usize_) =
            (u32_at(data, at + 20).unwrap_or(0) as usize, u32_at(data, at + 24).unwrap_or(0) as usize);
        let (n, e, c) = (usize::from(field(28)?), usize::from(field(30)?), usize::from(field(32)?));
        let external = u32_at(data, at + 38).ok_or_else(|| bad("short"))?;
        let local = u32_at(data, at + 42).ok_or_else(|| bad("short"))? as usize;
        let name = String::from_utf8_lossy(data.get(at + 46..at + 46 + n).ok_or_else(|| bad("short"))?).into_owned();
        at += 46 + n + e + c;
        if flags & 1 != 0 {
            return Err(bad("encrypted entry"));
        }
        if u32_at(data, local) != Some(0x0403_4b50) {
            return Err(bad("local header"));
        }
        let start = local
            + 30
            + usize::from(u16_at(data, local + 26).unwrap_or(0))
            + usize::from(u16_at(data, local + 28).unwrap_or(0));
        let raw = data.get(start..start.saturating_add(csize)).ok_or_else(|| bad("data past the end"))?;
        let content = match method {
            0 => raw.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(usize_.min(1 << 26));
                flate2::read::DeflateDecoder::new(raw)
                    .take(usize_ as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|_| bad("deflate"))?;
                out
            }
            _ => return Err(bad("compression method")),
        };
        let mut check = flate2::Crc::new();
        check.update(&content);
        if check.sum() != crc || content.len() != usize_ {
            return Err(bad("checksum"));
        }
        let (mode, dir) = mode(made_by, external, &name);
        entries.push(Entry { name, mode, dir, data: content });
    }
    Ok(entries)
}

/// Go archive/zip struct.go `FileHeader.Mode`: Unix creators (3, 19) keep
/// `external >> 16`; FAT/NTFS/VFAT (0, 11, 14) give 0666, or 0444 when
/// read-only, directory by attribute 0x10; a name ending in `/` is a dir.
fn mode(made_by: u16, external: u32, name: &str) -> (u32, bool) {
    let (mode, mut dir) = match made_by >> 8 {
        3 | 19 => ((external >> 16) & 0o7777, (external >> 16) & 0o170_000 == 0o040_000),
        0 | 11 | 14 => (if external & 1 != 0 { 0o444 } else { 0o666 }, external & 0x10 != 0),
        _ => (0, false),
    };
    dir |= name.ends_with('/');
    (mode, dir)
}

/// Write `entries` (name, contents, Unix mode) as a deflated zip made on
/// Unix, with a fixed 1980-01-01 time so the archive is reproducible.
pub fn write(out: &mut impl Write, entries: &[(String, Vec<u8>, u32)]) -> std::io::Result<()> {
    let mut central = Vec::new();
    let mut offset = 0u32;
    let too_big = || std::io::Error::other("a zip entry over 4 GiB needs zip64");
    for (name, data, mode) in entries {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data)?;
        let packed = enc.finish()?;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let (csize, size) =
            (u32::try_from(packed.len()).map_err(|_| too_big())?, u32::try_from(data.len()).map_err(|_| too_big())?);
        let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
        // version 2.0, flags 0 (bit 11, UTF-8, when not ASCII), deflate, 1980-01-01 00:00.
        let flags: u16 = if name.is_ascii() { 0 } else { 0x800 };
        let common = [
            &20u16.to_le_bytes()[..],
            &flags.to_le_bytes(),
            &8u16.to_le_bytes(),
            &0u16.to_le_bytes(),
            &0x21u16.to_le_bytes(),
            &crc.sum().to_le_bytes(),
            &csize.to_le_bytes(),
            &size.to_le_bytes(),
            &name_len.to_le_bytes(),
            &0u16.to_le_bytes(),
        ]
        .concat();
        let local = [&0x0403_4b50u32.to_le_bytes()[..], &common, name.as_bytes()].concat();
        out.write_all(&local)?;
        out.write_all(&packed)?;
        let made_by: u16 = (3 << 8) | 20;
        central.extend(
            [
                &0x0201_4b50u32.to_le_bytes()[..],
                &made_by.to_le_bytes(),
                &common,
                &[0u8; 6],
                &((0o100_000 | mode) << 16).to_le_bytes(),
                &offset.to_le_bytes(),
                name.as_bytes(),
            ]
            .concat(),
        );
        offset = offset
            .checked_add(u32::try_from(local.len() + packed.len()).map_err(|_| too_big())?)
            .ok_or_else(too_big)?;
    }
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    let size = u32::try_from(central.len()).map_err(|_| too_big())?;
    out.write_all(&central)?;
    out.write_all(
        &[
            &0x0605_4b50u32.to_le_bytes()[..],
            &[0u8; 4],
            &count.to_le_bytes(),
            &count.to_le_bytes(),
            &size.to_le_bytes(),
            &offset.to_le_bytes(),
            &[0u8; 2],
        ]
        .concat(),
    )
}
