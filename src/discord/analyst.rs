//! The one thread that runs detection for the live bot.
//!
//! Every regex keeps match caches for each thread that searches with it, and they grow with the
//! variety of text searched (lazy DFA states: several MB per thread for Bedside's rules). Handlers
//! run on every worker of the runtime, so letting each analyze in place keeps a full set of caches
//! per worker. Here all analysis — decisions on messages and edits, `/check`, drafts sent by DM —
//! runs on one thread, so there is one set. One thread is plenty: analysis takes microseconds,
//! while a message's REST calls take milliseconds.
//!
//! Jobs come in lanes (a guild, or direct messages, as in `lanes.rs`) and the thread takes the
//! lanes in turn, each lane's jobs in arrival order: a job from a quiet guild waits for at most one
//! job of a flooded one, not for all it has queued.
//!
//! # Layout
//! - [`Analyst::start`]: spawns the thread, which ends when the `Analyst` is dropped.
//! - [`Analyst::run`]: queues a job in a lane on that thread; its future gives the result.
//! - the jobs waiting: [`Turns`] by lane (`turns.rs`).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use crate::detect::Detector;
use crate::turns::Turns;

type Job = Box<dyn FnOnce(&Detector) + Send>;

/// A handle to the analysis thread.
pub struct Analyst {
    jobs: mpsc::Sender<(u64, Job)>,
}

/// The analysis thread is gone, or a job on it panicked (the thread itself carries on).
#[derive(Debug, thiserror::Error)]
#[error("the analysis did not complete")]
pub struct Interrupted;

impl Analyst {
    /// Starts the thread that owns `detector`'s use from now on.
    pub fn start(detector: Arc<Detector>) -> std::io::Result<Analyst> {
        let (jobs, queue) = mpsc::channel::<(u64, Job)>();
        thread::Builder::new().name("bedside-analysis".into()).spawn(move || {
            yield_to_the_event_loop();
            let mut turns: Turns<u64, Job> = Turns::default();
            loop {
                // Block only when nothing waits; otherwise take in whatever has arrived, so the
                // next turn is chosen among every lane that has work.
                if turns.is_empty() {
                    match queue.recv() {
                        Ok((lane, job)) => turns.push(lane, job),
                        Err(_) => return,
                    }
                }
                while let Ok((lane, job)) = queue.try_recv() {
                    turns.push(lane, job);
                }
                let Some(job) = turns.next() else { continue };
                // A panic must not take the thread (and every later message) with it; the job's
                // caller sees `Interrupted`.
                if catch_unwind(AssertUnwindSafe(|| job(&detector))).is_err() {
                    tracing::error!("an analysis panicked; its message is skipped");
                }
            }
        })?;
        Ok(Analyst { jobs })
    }

    /// Queues `job` in `lane` now; the future gives its result once the thread has run it.
    pub fn run<T, F>(&self, lane: u64, job: F) -> impl Future<Output = Result<T, Interrupted>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Detector) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |detector| {
            let _ = tx.send(job(detector));
        });
        let queued = self.jobs.send((lane, job)).map_err(|_| Interrupted);
        async move {
            queued?;
            rx.await.map_err(|_| Interrupted)
        }
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
            .run(1, |d| {
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
        let failed = analyst.run(1, |_| -> usize { panic!("a bug in a rule") }).await;
        assert!(failed.is_err());
        let after = analyst.run(1, |d| d.rule_count()).await.expect("the thread is still there");
        assert!(after > 0);
    }

    #[tokio::test]
    async fn a_quiet_lane_waits_for_one_job_of_a_busy_one_not_for_all() {
        let setup = Setup::load(None).expect("embedded config");
        let analyst = Analyst::start(setup.detector.clone()).expect("thread");
        // Hold the thread until every job below is queued.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let hold = analyst.run(0, move |_| held.recv().ok());
        let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = |lane: u64, n: usize| {
            let ran = ran.clone();
            analyst.run(lane, move |_| ran.lock().expect("lock").push((lane, n)))
        };
        let busy: Vec<_> = (0..5).map(|n| record(1, n)).collect();
        let quiet = record(2, 0);
        release.send(()).expect("release");
        hold.await.expect("held");
        quiet.await.expect("quiet lane's job");
        for job in busy {
            job.await.expect("busy lane's job");
        }
        let ran = ran.lock().expect("lock").clone();
        assert_eq!(ran, [(1, 0), (2, 0), (1, 1), (1, 2), (1, 3), (1, 4)]);
    }
}
