//! The per-source time limit. A parser that loops forever cannot be unwound (`catch_unwind` only
//! catches panics), so each source is read by a job on a reading pool while a supervisor thread
//! waits for it. Past the limit the supervisor abandons the job, reports the source as timed out,
//! and later sources get a fresh pool, in case the stuck job holds one of its threads.

use super::report::SourceReport;
use super::{IngestOptions, read_source};
use crate::sources::Source;
use indicatif::ProgressBar;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Reads every source, each under `limit`; results in the order of `found`.
pub fn read_all(
    found: &[Source],
    opts: &IngestOptions,
    limit: Duration,
    progress: &ProgressBar,
) -> Vec<Vec<SourceReport>> {
    let threads = rayon::current_num_threads().max(1);
    let Some(first) = new_pool(threads) else {
        // No threads to be had: read without a watchdog rather than not at all.
        return found
            .iter()
            .map(|s| read_source(s, opts, progress))
            .collect();
    };
    let pool = Mutex::new(first);
    let next = AtomicUsize::new(0);
    let supervise = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(src) = found.get(i) else { break };
            mine.push((i, read_one(src, opts, limit, progress, &pool, threads)));
        }
        mine
    };
    let mut done: Vec<(usize, Vec<SourceReport>)> = std::thread::scope(|scope| {
        let supervisors: Vec<_> = (0..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("kmslens-supervisor".into())
                    .spawn_scoped(scope, supervise)
                    .ok()
            })
            .collect();
        let mut all = Vec::new();
        if supervisors.is_empty() {
            all.extend(supervise());
        }
        for s in supervisors {
            // A supervisor only waits and collects: it does not panic.
            all.extend(s.join().unwrap_or_default());
        }
        all
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

fn new_pool(threads: usize) -> Option<Arc<ThreadPool>> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|k| format!("kmslens-reader-{k}"))
        .build()
        .ok()
        .map(Arc::new)
}

enum Progress {
    Started,
    Done(Vec<SourceReport>),
}

/// Reads one source on the pool; the clock starts when the job does, so a job queued behind a
/// large file is not charged for the wait.
fn read_one(
    src: &Source,
    opts: &IngestOptions,
    limit: Duration,
    progress: &ProgressBar,
    pool: &Mutex<Arc<ThreadPool>>,
    threads: usize,
) -> Vec<SourceReport> {
    let current = pool.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let (tx, rx) = mpsc::sync_channel(2);
    let (job_src, job_opts, job_progress) = (src.clone(), *opts, progress.clone());
    current.spawn(move || {
        let _ = tx.send(Progress::Started);
        let _ = tx.send(Progress::Done(read_source(
            &job_src,
            &job_opts,
            &job_progress,
        )));
    });
    // Waiting to start is bounded too: every thread of a pool may be held by stuck jobs.
    let outcome = match rx.recv_timeout(limit) {
        Ok(Progress::Started) => rx.recv_timeout(limit),
        other => other,
    };
    match outcome {
        Ok(Progress::Done(reports)) => reports,
        Ok(Progress::Started) | Err(RecvTimeoutError::Disconnected) => {
            vec![lost(src, "the reading job ended without a result".into())]
        }
        Err(RecvTimeoutError::Timeout) => {
            let mut slot = pool.lock().unwrap_or_else(PoisonError::into_inner);
            if Arc::ptr_eq(&slot, &current)
                && let Some(fresh) = new_pool(threads)
            {
                *slot = fresh;
            }
            let secs = limit.as_secs_f64();
            vec![lost(
                src,
                format!(
                    "timed out: still reading after {secs} s (a parser stuck on this file, or a file too large for the limit); abandoned, the rest of the bundle is analysed; give it longer with --source-timeout SECS"
                ),
            )]
        }
    }
}

fn lost(src: &Source, reason: String) -> SourceReport {
    let mut r = SourceReport::new(src.label.clone(), "file");
    r.fail(reason);
    r
}
