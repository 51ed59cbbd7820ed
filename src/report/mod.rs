//! Report: what the user reads. `rows` renders kept events (the `events` command); `summary`
//! renders what was read from each source.

pub mod rows;
pub mod summary;
