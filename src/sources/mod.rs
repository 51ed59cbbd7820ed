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
        let entries = match std::fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => {
                diags.push(Diagnostic::new(
                    Severity::Error,
                    &label,
                    None,
                    format!("cannot list folder: {e}"),
                ));
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            walk(&child, out, diags);
        }
    } else if meta.is_file() {
        out.push(Source {
            label: label.into(),
            origin: Origin::File(path.to_path_buf()),
            size: Some(meta.len()),
        });
    } else {
        diags.push(Diagnostic::new(
            Severity::Note,
            &label,
            None,
            "not a regular file; skipped",
        ));
    }
}
