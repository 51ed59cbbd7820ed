//! Report: what the user reads. `rows` renders kept events (the `events` command), `summary` the
//! sources read; `text` and `json` render an analysis.

pub mod json;
pub mod rows;
pub mod summary;
pub mod text;
