//! Report: what the user reads. `rows` renders kept events (the `events` command), `summary` the
//! sources read; `model` is one view of an analysis (problems, findings per rule, `coverage`) that
//! `text`, `markdown` and `html` only format; `json` serializes the analysis itself; `charts` are
//! the HTML's.

pub mod charts;
pub mod clock;
pub mod coverage;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
pub mod rows;
pub mod summary;
pub mod text;

/// Text for HTML and SVG: `&`, `<`, `>`, `'` and `"` escaped.
pub(crate) fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}
