//! A runtime of its own for the work of a guild in a burst.
//!
//! tokio's workers take runnable tasks first come, first served. In a flood of 2,000 messages in
//! one guild, that guild's handling and delivery tasks fill the workers' queues, and every other
//! task waits its turn behind them at each step: serenity's shard runners reading the gateway
//! (another guild's events, heartbeats), and another guild's handling, woken again after each
//! store call, analysis and REST call. The lanes (`lanes.rs`) and the outbox's places bound how
//! much of a burst is in progress, not where everything else waits.
//!
//! So once a guild is crowded (its lane is full, or it holds several delivery places), its further
//! work is spawned here, on two workers of their own, at a lower priority (`priority.rs`). When
//! the cores are busy the operating system runs the main runtime's threads first, and they, which
//! then have little to do, run as soon as they are woken. Measured in the load run (2-core
//! machine, another guild posting every 50 ms through a 2,000-message flood): that guild's gateway
//! delivery went from p50 4–8 ms to under 1 ms, and its whole latency from p50 13–20 ms to
//! 6–10 ms, with the flood draining as fast as before.
//!
//! # Layout
//! - [`Overflow::start`]: builds the runtime; dropping the `Overflow` stops it.
//! - [`Overflow::handle`]: where a crowded guild's tasks are spawned.

use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads of the overflow runtime. Few are needed: a burst's work in progress is bounded
/// by its lane and its share of the delivery places, and more threads would only take more of the
/// cores from the main runtime.
const WORKERS: usize = 2;

/// The overflow runtime, stopped when dropped.
pub struct Overflow {
    /// Taken only when dropped.
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Overflow {
    pub fn start() -> std::io::Result<Overflow> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("bedside-overflow")
            .on_thread_start(super::priority::yield_to_others)
            .enable_all()
            .build()?;
        Ok(Overflow { handle: runtime.handle().clone(), runtime: Some(runtime) })
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for Overflow {
    fn drop(&mut self) {
        // Dropping a runtime waits for its workers, which tokio forbids inside another runtime
        // (where the bot drops this). Its tasks are dropped without being waited for, as the main
        // runtime's are at shutdown; what they had not delivered stays in the outbox.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_tasks_on_its_own_threads_and_stops_inside_another_runtime() {
        let overflow = Overflow::start().expect("runtime");
        let name =
            overflow.handle().spawn(async { std::thread::current().name().map(str::to_string) }).await.expect("task");
        assert_eq!(name.as_deref(), Some("bedside-overflow"));
        #[cfg(target_os = "linux")]
        {
            let nice = overflow.handle().spawn(async { crate::discord::priority::niceness() }).await.expect("task");
            assert!(nice > crate::discord::priority::niceness(), "a burst's work runs at a lower priority");
        }
        assert_ne!(std::thread::current().name(), Some("bedside-overflow"));
        // A task still waiting when the bot stops is dropped, not waited for (and no panic).
        let (_keep, never) = tokio::sync::oneshot::channel::<()>();
        let waiting = overflow.handle().spawn(never);
        drop(overflow);
        assert!(waiting.await.expect_err("dropped with its runtime").is_cancelled());
    }
}
