//! Counts the round trips to the node a run had to wait on before it could
//! go on: its critical path in round trips, so that a change that puts one
//! more request in the way shows without a clock.
//!
//! A [`Chain`] is one line of waits, one after the other; the transport
//! counts each request that really waited (was not answered at once) into
//! the chain of the code that waits on it, found through a task-local.
//! Steps that run side by side run in chains of their own and add only the
//! longest to their parent ([`Chain::add_side_by_side`]). Work outside every
//! chain (the session's own watchers) is not counted.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

tokio::task_local! {
    static CHAIN: Arc<Chain>;
}

#[derive(Debug, Default)]
pub struct Chain {
    count: AtomicU64,
}

impl Chain {
    pub fn new() -> Arc<Chain> {
        Arc::new(Chain::default())
    }

    /// The chain the current code runs in, if any.
    pub fn current() -> Option<Arc<Chain>> {
        CHAIN.try_with(Arc::clone).ok()
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Adds round trips counted elsewhere (the connection's setup).
    pub fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::SeqCst);
    }

    /// Adds what `branches` took, run side by side at most `at_once` at a
    /// time: the longest, once per round of `at_once`.
    pub fn add_side_by_side(&self, branches: &[Arc<Chain>], at_once: usize) {
        let longest = branches.iter().map(|c| c.count()).max().unwrap_or(0);
        let rounds = branches.len().div_ceil(at_once.max(1)) as u64;
        self.add(longest * rounds);
    }

    /// Runs `future` in this chain.
    pub fn run<F: Future>(self: &Arc<Self>, future: F) -> impl Future<Output = F::Output> {
        CHAIN.scope(self.clone(), future)
    }
}

/// Runs `future` in `chain` when there is one (a task spawned on behalf of
/// code in a chain keeps counting into it).
pub async fn within<F: Future>(chain: Option<Arc<Chain>>, future: F) -> F::Output {
    match chain {
        Some(chain) => chain.run(future).await,
        None => future.await,
    }
}

/// One request's wait, counted into the current chain the first time it
/// has to wait. It may span several awaits (as when a `select!` drops and
/// restarts the future).
pub struct Wait {
    chain: Option<Arc<Chain>>,
    counted: bool,
}

impl Wait {
    pub fn start() -> Wait {
        Wait {
            chain: Chain::current(),
            counted: false,
        }
    }

    /// Awaits `future` as part of this wait.
    pub async fn on<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(value) => Poll::Ready(value),
            Poll::Pending => {
                if let (false, Some(chain)) = (self.counted, &self.chain) {
                    self.counted = true;
                    chain.add(1);
                }
                Poll::Pending
            }
        })
        .await
    }
}

/// Awaits `future` as one request's wait.
pub async fn wait<F: Future>(future: F) -> F::Output {
    Wait::start().on(future).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn sleep(ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test]
    async fn waits_that_waited_count_once_each() {
        let chain = Chain::new();
        chain
            .run(async {
                wait(sleep(2)).await;
                wait(sleep(2)).await;
                wait(async {}).await;
                let mut restarted = Wait::start();
                for _ in 0..3 {
                    let _ = tokio::time::timeout(Duration::from_millis(1), restarted.on(sleep(50)))
                        .await;
                }
            })
            .await;
        assert_eq!(chain.count(), 3);
    }

    #[tokio::test]
    async fn side_by_side_branches_add_the_longest() {
        let main = Chain::new();
        let (a, b) = (Chain::new(), Chain::new());
        main.run(async {
            wait(sleep(1)).await;
            tokio::join!(
                a.run(async {
                    wait(sleep(1)).await;
                    wait(sleep(1)).await;
                }),
                b.run(wait(sleep(5)))
            );
        })
        .await;
        main.add_side_by_side(&[a.clone(), b], 2);
        assert_eq!(main.count(), 3);
        // Three branches of two, two at a time: two rounds.
        let three = Chain::new();
        three.add_side_by_side(&[a.clone(), a.clone(), a], 2);
        assert_eq!(three.count(), 4);
        // Outside every chain nothing is counted.
        wait(sleep(1)).await;
        assert_eq!(main.count(), 3);
    }

    #[tokio::test]
    async fn a_spawned_task_counts_into_the_chain_it_was_started_for() {
        let chain = Chain::new();
        let inherited = chain.run(async { Chain::current() }).await;
        tokio::spawn(within(inherited, wait(sleep(1))))
            .await
            .unwrap();
        assert_eq!(chain.count(), 1);
    }
}
