//! Report: what the user reads. `rows` renders kept events (the `events` command), `summary` the
//! sources read; `text`, `json`, `markdown` and `html` render an analysis, with `coverage` (what
//! the bundle could and could not show) and `charts` shared between them.

pub mod charts;
pub mod coverage;
pub mod html;
pub mod json;
pub mod markdown;
pub mod rows;
pub mod summary;
pub mod text;

/// Text for HTML and SVG: `&`, `<`, `>` and `"` escaped.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
