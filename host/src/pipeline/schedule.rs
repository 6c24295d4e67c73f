//! Runs one async job per image with at most `-j` at once.
//!
//! After the first failure no new job starts (the ones already running
//! finish, so their output is complete and their remote processes exit
//! cleanly); the jobs never started are reported as skipped. This is what
//! makes "no image is pushed unless every selected image built" hold: the
//! caller only moves on to pushing when every outcome is `Done`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

#[derive(Debug)]
pub enum Outcome<T, E> {
    Done {
        value: T,
        elapsed: Duration,
    },
    Failed {
        error: E,
        elapsed: Duration,
    },
    /// Not started because another job had already failed.
    Skipped,
}

/// Runs `job` for every item, `jobs` at a time, and returns the outcomes in
/// the order of `items` (not of completion), so reports are stable.
pub async fn run_limited<I, T, E, F, Fut>(
    items: Vec<I>,
    jobs: usize,
    job: F,
) -> Vec<(I, Outcome<T, E>)>
where
    I: Clone,
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let failed = AtomicBool::new(false);
    let failed = &failed;
    let job = &job;
    let mut results: Vec<(usize, I, Outcome<T, E>)> = stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| async move {
            if failed.load(Ordering::SeqCst) {
                return (index, item, Outcome::Skipped);
            }
            let started = Instant::now();
            let outcome = match job(item.clone()).await {
                Ok(value) => Outcome::Done {
                    value,
                    elapsed: started.elapsed(),
                },
                Err(error) => {
                    failed.store(true, Ordering::SeqCst);
                    Outcome::Failed {
                        error,
                        elapsed: started.elapsed(),
                    }
                }
            };
            (index, item, outcome)
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _, _)| *index);
    results
        .into_iter()
        .map(|(_, item, outcome)| (item, outcome))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn never_more_than_jobs_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = run_limited((0..10).collect(), 3, |i: u32| {
            let running = &running;
            let peak = &peak;
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ()>(i * 2)
            }
        })
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        let values: Vec<u32> = out
            .iter()
            .map(|(_, o)| match o {
                Outcome::Done { value, .. } => *value,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(values, (0..10).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_failure_stops_new_jobs_but_lets_running_ones_finish() {
        let started = AtomicUsize::new(0);
        let out = run_limited((0..6).collect(), 2, |i: u32| {
            let started = &started;
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    return Err("boom");
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok(i)
            }
        })
        .await;
        assert!(matches!(out[0].1, Outcome::Failed { error: "boom", .. }));
        assert!(
            matches!(out[1].1, Outcome::Done { .. }),
            "the job running beside the failure finishes"
        );
        assert!(out[2..].iter().all(|(_, o)| matches!(o, Outcome::Skipped)));
        assert_eq!(started.load(Ordering::SeqCst), 2);
    }
}
