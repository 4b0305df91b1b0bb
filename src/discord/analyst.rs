//! The one thread that runs detection for the live bot.
//!
//! Every regex keeps match caches for each thread that searches with it, and they grow with the
//! variety of text searched (lazy DFA states: several MB per thread for Bedside's rules). Handlers
//! run on every worker of the runtime, so letting each analyze in place keeps a full set of caches
//! per worker. Here all analysis — decisions on messages and edits, `/check`, drafts sent by DM —
//! runs on one thread, in arrival order, so there is one set. One thread is plenty: analysis takes
//! microseconds, while a message's REST calls take milliseconds.
//!
//! # Layout
//! - [`Analyst::start`]: spawns the thread, which ends when the `Analyst` is dropped.
//! - [`Analyst::run`]: runs a job on that thread and awaits its result.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use crate::detect::Detector;

type Job = Box<dyn FnOnce(&Detector) + Send>;

/// A handle to the analysis thread.
pub struct Analyst {
    jobs: mpsc::Sender<Job>,
}

/// The analysis thread is gone, or a job on it panicked (the thread itself carries on).
#[derive(Debug, thiserror::Error)]
#[error("the analysis did not complete")]
pub struct Interrupted;

impl Analyst {
    /// Starts the thread that owns `detector`'s use from now on.
    pub fn start(detector: Arc<Detector>) -> std::io::Result<Analyst> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new().name("bedside-analysis".into()).spawn(move || {
            yield_to_the_event_loop();
            for job in queue {
                // A panic must not take the thread (and every later message) with it; the job's
                // caller sees `Interrupted`.
                if catch_unwind(AssertUnwindSafe(|| job(&detector))).is_err() {
                    tracing::error!("an analysis panicked; its message is skipped");
                }
            }
        })?;
        Ok(Analyst { jobs })
    }

    /// Runs `job` on the analysis thread, after the jobs already queued.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Detector) -> T + Send + 'static,
    ) -> Result<T, Interrupted> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |detector| {
            let _ = tx.send(job(detector));
        });
        self.jobs.send(job).map_err(|_| Interrupted)?;
        rx.await.map_err(|_| Interrupted)
    }
}

/// Lowers the calling thread's scheduling priority (nice 10), so that when the cores are busy the
/// runtime's workers run first: reading the gateway (heartbeats, other guilds' events) and sending
/// replies. Detection is the bulk of a flood's work, and a message waiting for it costs far less
/// memory than a gateway event serenity has read but no worker has taken yet.
#[cfg(target_os = "linux")]
fn yield_to_the_event_loop() {
    // On Linux a thread id given to PRIO_PROCESS names just that thread. A failure (a sandbox
    // refusing it) leaves the thread at normal priority, which is only slower under load.
    // SAFETY: two plain syscalls about the calling thread.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_the_event_loop() {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Message, Role};
    use crate::setup::Setup;

    #[tokio::test]
    async fn jobs_run_on_the_analysis_thread_and_return_their_results() {
        let setup = Setup::load(None).expect("embedded config");
        let analyst = Analyst::start(setup.detector.clone()).expect("thread");
        let (thread, flagged) = analyst
            .run(|d| {
                let analysis = d.analyze(&Message::new("take 400mg ibuprofen every 6 hours", Role::Staff));
                (thread::current().name().map(str::to_string), analysis.counted().count())
            })
            .await
            .expect("result");
        assert_eq!(thread.as_deref(), Some("bedside-analysis"));
        assert!(flagged > 0, "the dose advice is found");
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_the_thread_carries_on() {
        let setup = Setup::load(None).expect("embedded config");
        let analyst = Analyst::start(setup.detector.clone()).expect("thread");
        let failed = analyst.run(|_| -> usize { panic!("a bug in a rule") }).await;
        assert!(failed.is_err());
        let after = analyst.run(|d| d.rule_count()).await.expect("the thread is still there");
        assert!(after > 0);
    }
}
