//! The per-source time limit. A parser that loops forever cannot be unwound (`catch_unwind` only
//! catches panics), so sources are read by worker threads that note which source they are on and
//! since when; the calling thread wakes a few times a second to look. A worker past the limit is
//! retired: its source is reported as timed out, a fresh worker takes over the rest, and the
//! stuck one is left behind (it ends with the process). Per source this costs two atomics and a
//! lock, not a thread hand-off: bundles hold tens of thousands of small logs.

use super::report::SourceReport;
use super::{IngestOptions, Sink, read_source};
use crate::sources::Source;
use indicatif::ProgressBar;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a worker is reading, and since when.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<(usize, Instant)>>,
    retired: AtomicBool,
}

struct Shared {
    found: Vec<Source>,
    opts: IngestOptions,
    progress: ProgressBar,
    sink: Arc<Sink>,
    next: AtomicUsize,
    results: Mutex<Results>,
    settled: Condvar,
}

struct Results {
    reports: Vec<Option<Vec<SourceReport>>>,
    settled: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Records a source's reports unless it was already settled (timed out).
    fn settle(&self, i: usize, reports: Vec<SourceReport>) {
        let mut r = lock(&self.results);
        if r.reports[i].is_none() {
            r.reports[i] = Some(reports);
            r.settled += 1;
            if r.settled == r.reports.len() {
                self.settled.notify_all();
            }
        }
    }
}

/// Reads every source, each under `limit`; results in the order of `found`.
pub fn read_all(
    found: &[Source],
    opts: &IngestOptions,
    limit: Duration,
    progress: &ProgressBar,
    sink: &Arc<Sink>,
) -> Vec<Vec<SourceReport>> {
    let n = found.len();
    let shared = Arc::new(Shared {
        found: found.to_vec(),
        opts: opts.clone(),
        progress: progress.clone(),
        sink: sink.clone(),
        next: AtomicUsize::new(0),
        results: Mutex::new(Results {
            reports: (0..n).map(|_| None).collect(),
            settled: 0,
        }),
        settled: Condvar::new(),
    });
    let mut slots: Vec<Arc<Slot>> = Vec::new();
    for _ in 0..rayon::current_num_threads().max(1) {
        if let Some(slot) = spawn_worker(&shared) {
            slots.push(slot);
        }
    }
    if slots.is_empty() {
        // No thread to be had: read here, without a watchdog, rather than not at all.
        return found.iter().map(|s| sink.read(s, opts, progress)).collect();
    }
    let mut results = lock(&shared.results);
    while results.settled < n {
        results = shared
            .settled
            .wait_timeout(results, Duration::from_millis(200))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        drop(results);
        retire_stuck(&shared, &mut slots, limit);
        results = lock(&shared.results);
    }
    results
        .reports
        .iter_mut()
        .map(|r| r.take().unwrap_or_default())
        .collect()
}

/// Retires the workers past the limit and starts one in place of each.
fn retire_stuck(shared: &Arc<Shared>, slots: &mut Vec<Arc<Slot>>, limit: Duration) {
    let mut replacements = 0;
    for slot in slots.iter() {
        let current = *lock(&slot.current);
        if let Some((i, since)) = current
            && since.elapsed() > limit
            && !slot.retired.swap(true, Ordering::Relaxed)
        {
            shared.settle(i, vec![timed_out(&shared.found[i], limit)]);
            replacements += 1;
        }
    }
    slots.retain(|s| !s.retired.load(Ordering::Relaxed));
    for _ in 0..replacements {
        if let Some(slot) = spawn_worker(shared) {
            slots.push(slot);
        }
    }
}

fn spawn_worker(shared: &Arc<Shared>) -> Option<Arc<Slot>> {
    let slot = Arc::new(Slot::default());
    let (s, mine) = (shared.clone(), slot.clone());
    std::thread::Builder::new()
        .name("kmslens-reader".into())
        .spawn(move || work(&s, &mine))
        .ok()?;
    Some(slot)
}

fn work(shared: &Shared, slot: &Slot) {
    while !slot.retired.load(Ordering::Relaxed) {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(src) = shared.found.get(i) else {
            break;
        };
        *lock(&slot.current) = Some((i, Instant::now()));
        let mut reports = read_source(src, &shared.opts, &shared.progress);
        *lock(&slot.current) = None;
        if slot.retired.load(Ordering::Relaxed) {
            // Timed out while it ran: the source is reported as lost, its late events dropped.
            break;
        }
        shared.sink.take_from(&mut reports);
        shared.settle(i, reports);
    }
}

fn timed_out(src: &Source, limit: Duration) -> SourceReport {
    let mut r = SourceReport::new(src.label.clone(), crate::sources::sniff::SourceKind::File);
    r.fail(format!(
        "timed out: still reading after {} s (a parser stuck on this file, or a file too large for the limit); abandoned, the rest of the bundle is analysed; give it longer with --source-timeout SECS",
        limit.as_secs_f64()
    ));
    r
}
