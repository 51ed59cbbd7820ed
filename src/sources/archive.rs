//! `.zip` archives read in place: entries are streamed from the archive (or from memory for a zip
//! inside a zip), with limits against hostile archives. Entry names are labels only; nothing is
//! ever written to disk.

use super::{Origin, Source};
use crate::messages::{Diagnostic, Severity};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use zip::ZipArchive;

/// Limits against zip bombs and archives built to exhaust the machine.
#[derive(Clone, Copy, Debug)]
pub struct ZipLimits {
    pub max_entries: usize,
    /// Uncompressed bytes read from one archive, all entries together.
    pub max_total_bytes: u64,
    /// Uncompressed / compressed size of one entry, checked once it passes `ratio_floor_bytes`.
    pub max_ratio: u64,
    pub ratio_floor_bytes: u64,
    /// A zip inside a zip is read into memory; larger ones are skipped.
    pub max_nested_bytes: u64,
    pub max_depth: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 100_000,
            max_total_bytes: 64 << 30,
            // Event logs compress well (mostly empty chunks reach a few hundred to one); bombs go far beyond.
            max_ratio: 1_000,
            ratio_floor_bytes: 16 << 20,
            max_nested_bytes: 1 << 30,
            max_depth: 4,
        }
    }
}

/// Bytes an archive is read from: a file (positional reads, shared by threads) or memory.
#[derive(Clone)]
enum Backing {
    File(Arc<File>),
    Mem(Arc<[u8]>),
}

/// A cheap-to-clone `Read + Seek` over shared backing, so that each thread reads its own entry.
#[derive(Clone)]
pub struct SharedReader {
    backing: Backing,
    pos: u64,
    len: u64,
}

impl SharedReader {
    pub fn file(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(SharedReader {
            backing: Backing::File(Arc::new(file)),
            pos: 0,
            len,
        })
    }

    pub fn memory(bytes: Vec<u8>) -> Self {
        let len = bytes.len() as u64;
        SharedReader {
            backing: Backing::Mem(bytes.into()),
            pos: 0,
            len,
        }
    }
}

impl Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &self.backing {
            Backing::File(f) => read_at(f, buf, self.pos)?,
            Backing::Mem(m) => {
                let start = (self.pos.min(self.len)) as usize;
                let n = buf.len().min(m.len() - start);
                buf[..n].copy_from_slice(&m[start..start + n]);
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}

impl Seek for SharedReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// An opened archive, shared by the sources that are its entries.
#[derive(Clone)]
pub struct Archive {
    zip: ZipArchive<SharedReader>,
    label: Arc<str>,
    /// Uncompressed bytes read so far from this archive (for `max_total_bytes`).
    read_total: Arc<AtomicU64>,
    limits: ZipLimits,
    pub depth: usize,
}

impl Archive {
    pub fn open(
        reader: SharedReader,
        label: Arc<str>,
        limits: ZipLimits,
        depth: usize,
    ) -> Result<Archive, String> {
        let zip =
            ZipArchive::new(reader).map_err(|e| format!("not a readable zip archive: {e}"))?;
        Ok(Archive {
            zip,
            label,
            read_total: Arc::new(AtomicU64::new(0)),
            limits,
            depth,
        })
    }

    /// The file entries as sources, with diagnostics for what is refused.
    pub fn entries(&self) -> (Vec<Source>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        let count = self.zip.len();
        if count > self.limits.max_entries {
            diags.push(Diagnostic::new(
                Severity::Warning,
                &self.label,
                None,
                format!(
                    "{count} entries, over the limit of {}; only the first {} read",
                    self.limits.max_entries, self.limits.max_entries
                ),
            ));
        }
        for index in 0..count.min(self.limits.max_entries) {
            let name = match self.zip.name_for_index(index) {
                Some(Ok(n)) => n.into_owned(),
                Some(Err(_)) => format!("entry #{index}"),
                None => continue,
            };
            let label: Arc<str> = format!("{}!{}", self.label, clean_name(&name)).into();
            if name.ends_with('/') || name.ends_with('\\') {
                continue;
            }
            out.push(Source {
                label,
                origin: Origin::Entry {
                    archive: self.clone(),
                    index,
                },
                size: None,
            });
        }
        (out, diags)
    }

    /// Runs `f` on a stream of the entry's uncompressed bytes, with the archive's limits enforced.
    pub fn with_entry<T>(
        &self,
        index: usize,
        f: impl FnOnce(&mut dyn Read) -> T,
    ) -> Result<T, String> {
        let mut zip = self.zip.clone();
        let entry = zip
            .by_index(index)
            .map_err(|e| format!("cannot read this zip entry: {e}"))?;
        if entry.encrypted() {
            return Err(
                "encrypted zip entry; extract it with its password and add the file".into(),
            );
        }
        let compressed = entry.compressed_size();
        let declared = entry.size();
        let mut limited = Limited {
            inner: entry,
            read: 0,
            compressed,
            declared,
            limits: self.limits,
            total: &self.read_total,
            error: None,
        };
        let out = f(&mut limited);
        match limited.error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

/// Walks the entries of a zip from its local headers, in order, for an archive whose central
/// directory cannot be read. Returns the entries read, or that count and what stopped the walk.
pub fn stream_entries(
    reader: SharedReader,
    label: &str,
    limits: ZipLimits,
    mut f: impl FnMut(Arc<str>, &mut dyn Read),
) -> Result<usize, (usize, String)> {
    let mut input = io::BufReader::new(reader);
    let total = AtomicU64::new(0);
    let mut n = 0usize;
    loop {
        if n >= limits.max_entries {
            return Err((
                n,
                format!("over the limit of {} entries", limits.max_entries),
            ));
        }
        let entry = match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(n),
            Err(e) => return Err((n, format!("entry {}: {e}", n + 1))),
        };
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry #{}", n + 1));
        if entry.is_dir() {
            continue;
        }
        let entry_label: Arc<str> = format!("{label}!{}", clean_name(&name)).into();
        let (compressed, declared) = (entry.compressed_size(), entry.size());
        let mut limited = Limited {
            inner: entry,
            read: 0,
            compressed,
            declared,
            limits,
            total: &total,
            error: None,
        };
        f(entry_label, &mut limited);
        // What the reader left of the entry must be consumed to reach the next header.
        let _ = io::copy(&mut limited, &mut io::sink());
        if let Some(e) = limited.error {
            return Err((n + 1, e));
        }
        n += 1;
    }
}

/// Entry names are only labels: control characters are replaced so a name cannot forge output.
fn clean_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                '?'
            } else if c == '\\' {
                '/'
            } else {
                c
            }
        })
        .collect()
}

/// Enforces the limits while an entry is read, whatever its header claims.
struct Limited<'a, R> {
    inner: R,
    read: u64,
    compressed: u64,
    declared: u64,
    limits: ZipLimits,
    total: &'a AtomicU64,
    /// Why reading was stopped, reported after the reader returns.
    error: Option<String>,
}

impl<R: Read> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.error {
            return Err(io::Error::other(e.clone()));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let total = self.total.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let stop = if self.read > self.limits.ratio_floor_bytes
            && self.read > self.compressed.max(1).saturating_mul(self.limits.max_ratio)
        {
            Some(format!(
                "zip bomb guard: entry expands beyond {}x its compressed size ({} bytes compressed, declared {} bytes); rest of the entry not read",
                self.limits.max_ratio, self.compressed, self.declared
            ))
        } else if total > self.limits.max_total_bytes {
            Some(format!(
                "archive expands beyond {} bytes in all; rest not read",
                self.limits.max_total_bytes
            ))
        } else {
            None
        };
        if let Some(e) = stop {
            self.error = Some(e.clone());
            return Err(io::Error::other(e));
        }
        Ok(n)
    }
}
