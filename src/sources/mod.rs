//! Sources: the user's paths expanded into the logs to read: files under folders (recursive) and
//! entries of `.zip` archives (streamed, never extracted). Kinds come from content (`sniff`).

pub mod archive;
pub mod encoding;
pub mod sniff;

use crate::messages::{Diagnostic, Severity};
use archive::Archive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One thing to read, named by its path inside the bundle.
#[derive(Clone)]
pub struct Source {
    /// Shown to the user and cited as evidence: the path given, or `archive.zip!entry/name`.
    pub label: Arc<str>,
    pub origin: Origin,
    /// Size in bytes (uncompressed for archive entries), when known.
    pub size: Option<u64>,
}

impl Source {
    /// A file on disk, labelled by its path.
    fn file(path: PathBuf, size: u64) -> Source {
        Source {
            label: path.display().to_string().into(),
            origin: Origin::File(path),
            size: Some(size),
        }
    }
}

#[derive(Clone)]
pub enum Origin {
    File(PathBuf),
    Entry { archive: Archive, index: usize },
}

/// Every file under the given paths, in a stable order. Missing or unreadable paths become
/// diagnostics.
pub fn discover(paths: &[PathBuf]) -> (Vec<Source>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for p in paths {
        walk(p, &mut out, &mut diags);
    }
    (out, diags)
}

/// Entries a folder must have for its children to be walked in parallel.
const PARALLEL_FOLDER: usize = 64;

fn walk(path: &Path, out: &mut Vec<Source>, diags: &mut Vec<Diagnostic>) {
    let label = path.display().to_string();
    // symlink_metadata: a link to a folder is not followed (no loops); a link to a file is read.
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            diags.push(Diagnostic::new(
                Severity::Error,
                &label,
                None,
                format!("cannot read: {e}"),
            ));
            return;
        }
    };
    let meta = if meta.file_type().is_symlink() {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                diags.push(Diagnostic::new(
                    Severity::Note,
                    &label,
                    None,
                    "symbolic link to a folder not followed",
                ));
                return;
            }
            Err(e) => {
                diags.push(Diagnostic::new(
                    Severity::Error,
                    &label,
                    None,
                    format!("broken link: {e}"),
                ));
                return;
            }
        }
    } else {
        meta
    };
    if meta.is_dir() {
        walk_folder(path, &label, out, diags);
    } else if meta.is_file() {
        out.push(Source::file(path.to_path_buf(), meta.len()));
    } else {
        diags.push(Diagnostic::new(
            Severity::Note,
            &label,
            None,
            "not a regular file; skipped",
        ));
    }
}

/// A folder's entries, sorted, each visited; the entries of a large folder on every core.
fn walk_folder(path: &Path, label: &str, out: &mut Vec<Source>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            diags.push(Diagnostic::new(
                Severity::Error,
                label,
                None,
                format!("cannot list folder: {e}"),
            ));
            return;
        }
    };
    let mut children: Vec<std::fs::DirEntry> = entries.filter_map(Result::ok).collect();
    children.sort_by_cached_key(std::fs::DirEntry::file_name);
    if children.len() < PARALLEL_FOLDER {
        for child in &children {
            visit(child, out, diags);
        }
        return;
    }
    // A bundle of thousands of machine folders: one listing per entry, on every core, gathered
    // back in order.
    use rayon::prelude::*;
    let walked: Vec<(Vec<Source>, Vec<Diagnostic>)> = children
        .par_iter()
        .map(|child| {
            let (mut out, mut diags) = (Vec::new(), Vec::new());
            visit(child, &mut out, &mut diags);
            (out, diags)
        })
        .collect();
    for (o, d) in walked {
        out.extend(o);
        diags.extend(d);
    }
}

/// A folder's entry. Its type comes with the listing and its size is asked relative to the open
/// folder: no lookup of its whole path (40 000 of them on a 20 000-client bundle). Links and
/// anything unusual take the general path.
fn visit(entry: &std::fs::DirEntry, out: &mut Vec<Source>, diags: &mut Vec<Diagnostic>) {
    let path = entry.path();
    match entry.file_type() {
        Ok(t) if t.is_dir() => walk_folder(&path, &path.display().to_string(), out, diags),
        Ok(t) if t.is_file() => match entry.metadata() {
            Ok(m) => out.push(Source::file(path, m.len())),
            Err(_) => walk(&path, out, diags),
        },
        _ => walk(&path, out, diags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder past the parallel threshold is listed in the same order as a small one: sorted,
    /// depth first.
    #[test]
    fn large_folders_are_walked_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for m in (0..PARALLEL_FOLDER + 20).rev() {
            let machine = dir.path().join(format!("PC{m:03}"));
            std::fs::create_dir(&machine).unwrap();
            for f in ["b.evtx", "a.txt"] {
                std::fs::write(machine.join(f), b"x").unwrap();
            }
        }
        std::fs::write(dir.path().join("zz.txt"), b"x").unwrap();
        for m in 0..PARALLEL_FOLDER + 20 {
            for f in ["a.txt", "b.evtx"] {
                want.push(dir.path().join(format!("PC{m:03}")).join(f));
            }
        }
        want.push(dir.path().join("zz.txt"));
        let (found, diags) = discover(&[dir.path().to_path_buf()]);
        assert!(diags.is_empty());
        let got: Vec<PathBuf> = found
            .iter()
            .map(|s| match &s.origin {
                Origin::File(p) => p.clone(),
                Origin::Entry { .. } => unreachable!("no archives here"),
            })
            .collect();
        assert_eq!(got, want);
    }
}
