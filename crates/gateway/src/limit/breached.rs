//! Breached passwords: a sorted file of SHA-1 hashes (the format of the
//! well-known downloads: `HEX40:COUNT` per line), binary searched on disk.
//!
//! The file can be tens of gigabytes (Have I Been Pwned's "Pwned Passwords",
//! ordered by hash), so it is never read whole: a lookup keeps a byte range
//! `[lo, hi)` of the file in which the hash could start a line, reads one small
//! block at the range's middle, skips to the next line start, compares that
//! line's hash and halves the range; once the range is a few KiB, it is read
//! once and scanned. About `log2(size / 4 KiB) + 1` positional reads of at most
//! 4 KiB each, whatever the file's size.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

/// Hex digits of a SHA-1 hash.
const HASH_LEN: usize = 40;

/// Longest line accepted: the hash, `:`, a count of up to 20 digits, CRLF;
/// anything longer is a malformed file.
const MAX_LINE: usize = 80;

/// Bytes read per probe: enough to skip the rest of one line and read the next.
const PROBE: usize = 2 * MAX_LINE + 2;

/// A range this small (bytes) is read once and scanned line by line.
const SCAN: u64 = 4096;

/// A breached-password file, opened for lookups (never read whole).
#[derive(Debug, Clone)]
pub struct Breached {
    path: PathBuf,
}

impl Breached {
    /// Opens (and checks the first line of) a hash file: it must exist, be a
    /// regular file, not be empty, and its first and last lines must be
    /// `HEX40` or `HEX40:COUNT`, the first not after the last. (That the lines
    /// between are sorted cannot be checked without reading them all.)
    pub fn open(path: &Path) -> Result<Breached, String> {
        let file =
            File::open(path).map_err(|e| format!("cannot open the breached-password file: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read the breached-password file: {e}"))?;
        if !meta.is_file() {
            return Err("the breached-password file is not a regular file".into());
        }
        let len = meta.len();
        if len == 0 {
            return Err("the breached-password file is empty".into());
        }
        let io = |e: io::Error| format!("cannot read the breached-password file: {e}");
        let mut buf = [0u8; PROBE];
        let n = read_some(&file, &mut buf, 0).map_err(io)?;
        let first = match split_line(&buf[..n], n as u64 == len) {
            Some((line, _)) => key(line).map_err(|why| format!("its first line {why}"))?,
            None => return Err(format!("its first line is longer than {MAX_LINE} bytes")),
        };
        let start = len.saturating_sub(PROBE as u64);
        let n = read_some(&file, &mut buf, start).map_err(io)?;
        let tail = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
        let last_line = match tail.iter().rposition(|&b| b == b'\n') {
            Some(i) => &tail[i + 1..],
            None if start == 0 => tail,
            None => return Err(format!("its last line is longer than {MAX_LINE} bytes")),
        };
        let last = key(trim_cr(last_line)).map_err(|why| format!("its last line {why}"))?;
        if first > last {
            return Err(
                "it is not sorted by hash (its first line sorts after its last): download \
                 the list ordered by hash"
                    .into(),
            );
        }
        Ok(Breached {
            path: path.to_path_buf(),
        })
    }

    /// Whether the password's SHA-1 is in the file (blocking file reads: call
    /// it off the async workers). An error means the file could not be read
    /// or holds a malformed line where the search looked.
    pub fn contains(&self, password: &[u8]) -> io::Result<bool> {
        Ok(self.lookup(&sha1_hex(password))?.found)
    }

    /// The binary search for one upper-case hex hash, counting its reads.
    pub(crate) fn lookup(&self, target: &[u8; HASH_LEN]) -> io::Result<Lookup> {
        // Opened per lookup: a replaced file is seen at once, and no handle
        // is shared between threads.
        let file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let mut reads = 0;
        // Invariants: `lo` is a line start; every line starting before `lo`
        // sorts before the target, every line starting at `hi` or later after it.
        let (mut lo, mut hi) = (0u64, len);
        let mut buf = [0u8; PROBE];
        while hi - lo > SCAN {
            let mid = lo + (hi - lo) / 2;
            // The first line start at or after `mid`: just past the first
            // newline at or after `mid - 1`.
            let n = read_some(&file, &mut buf, mid - 1)?;
            reads += 1;
            let Some(nl) = buf[..n].iter().position(|&b| b == b'\n') else {
                if n < PROBE {
                    // End of file: no line starts in [mid, len).
                    hi = mid;
                    continue;
                }
                return Err(malformed(mid));
            };
            let start = mid + nl as u64;
            if start >= hi {
                hi = mid;
                continue;
            }
            let rest = &buf[nl + 1..n];
            let eof = mid - 1 + n as u64 == len;
            let (line, used) = match split_line(rest, eof) {
                Some(found) => found,
                None => {
                    // The line runs past this block: read it from its start.
                    let n = read_some(&file, &mut buf, start)?;
                    reads += 1;
                    split_line(&buf[..n], start + n as u64 == len)
                        .ok_or_else(|| malformed(start))?
                }
            };
            let k = key(line).map_err(|_| malformed(start))?;
            match k.cmp(target) {
                std::cmp::Ordering::Less => lo = start + used as u64,
                std::cmp::Ordering::Equal => return Ok(Lookup { found: true, reads }),
                std::cmp::Ordering::Greater => hi = start,
            }
        }
        // A small range: read it (and the end of the line that starts just
        // before `hi`) once, and scan it.
        let mut block = [0u8; SCAN as usize + MAX_LINE + 2];
        let n = read_some(&file, &mut block, lo)?;
        reads += 1;
        let eof = lo + n as u64 == len;
        let (mut pos, end) = (0usize, (hi - lo) as usize);
        while pos < end.min(n) {
            let (line, used) =
                split_line(&block[pos..n], eof).ok_or_else(|| malformed(lo + pos as u64))?;
            let k = key(line).map_err(|_| malformed(lo + pos as u64))?;
            match k.cmp(target) {
                std::cmp::Ordering::Less => pos += used,
                std::cmp::Ordering::Equal => return Ok(Lookup { found: true, reads }),
                std::cmp::Ordering::Greater => break,
            }
        }
        Ok(Lookup {
            found: false,
            reads,
        })
    }
}

/// The result of one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lookup {
    /// The hash is in the file.
    pub(crate) found: bool,
    /// Positional reads it took (tests show they grow with the log of the size).
    pub(crate) reads: usize,
}

/// Upper-case hex SHA-1 of a password, as the file spells it.
pub(crate) fn sha1_hex(password: &[u8]) -> [u8; HASH_LEN] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password);
    let mut out = [0u8; HASH_LEN];
    for (i, b) in d.as_ref().iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    out
}

/// A line's hash, upper case; the reason when the line is not `HEX40[:COUNT]`.
fn key(line: &[u8]) -> Result<[u8; HASH_LEN], &'static str> {
    let (hash, rest) = line.split_at_checked(HASH_LEN).ok_or(
        "is not `HASH:COUNT` (40 hex digits of a SHA-1, `:`, a count): \
         download the SHA-1 list, not the NTLM one",
    )?;
    if !hash.iter().all(u8::is_ascii_hexdigit) {
        return Err("does not start with 40 hex digits of a SHA-1 hash");
    }
    match rest {
        [] => {}
        [b':', count @ ..] if !count.is_empty() && count.iter().all(u8::is_ascii_digit) => {}
        _ => return Err("is not `HASH:COUNT`: the hash is followed by something else"),
    }
    let mut out = [0u8; HASH_LEN];
    for (o, h) in out.iter_mut().zip(hash) {
        *o = h.to_ascii_uppercase();
    }
    Ok(out)
}

/// The first line of `buf` (without its LF or CRLF) and the bytes it takes
/// with its line end; at the end of the file (`eof`) the last line needs no
/// line end. `None` when the line does not end within `buf` (or is too long).
fn split_line(buf: &[u8], eof: bool) -> Option<(&[u8], usize)> {
    let window = &buf[..buf.len().min(MAX_LINE + 1)];
    match window.iter().position(|&b| b == b'\n') {
        Some(i) => Some((trim_cr(&buf[..i]), i + 1)),
        None if eof && buf.len() <= MAX_LINE => Some((trim_cr(buf), buf.len())),
        None => None,
    }
}

/// A line without its trailing CR.
fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads into `buf` from `offset` until it is full or the file ends; returns
/// the bytes read.
fn read_some(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The error for a malformed line (its offset, never the hash searched for).
fn malformed(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the breached-password file has a malformed line near byte {offset}"),
    )
}

#[cfg(test)]
mod tests;
