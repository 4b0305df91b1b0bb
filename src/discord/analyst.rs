//! The threads that run detection for the live bot.
//!
//! Every regex keeps match caches for each thread that searches with it, and they grow with the
//! variety of text searched (lazy DFA states: several MB per thread for Bedside's rules). Handlers
//! run on every worker of the runtime, so letting each analyze in place keeps a full set of caches
//! per worker. Here all analysis — decisions on messages and edits, `/check`, drafts sent by DM —
//! runs on two threads, so there are at most two sets. Analysis takes microseconds, while a
//! message's REST calls take milliseconds.
//!
//! Jobs come in lanes (a guild, or direct messages, as in `lanes.rs`). A job whose lane has none
//! waiting goes to the *prompt* thread; a job queued behind another of its lane — a burst — goes
//! to the *bulk* thread, which runs at a lower priority (`priority.rs`) so that when the cores
//! are busy the event loop, and every quiet guild, go first. Measured in the load run before the prompt
//! thread: a quiet guild's message waited for the one thread p50 1.5–2 ms, p90 4–9 ms, behind a
//! flood's job preempted on it. Each thread takes its lanes in turn, each lane's jobs in arrival
//! order: a job waits for at most one job of each other lane, not for all it has queued.
//!
//! # Layout
//! - [`Analyst::start`]: spawns the threads, which end when the `Analyst` is dropped.
//! - [`Analyst::run`]: queues a job in a lane, with the detector it is to use (the one of the
//!   configuration its caller read, so a reload swaps both together), on the thread its lane's load
//!   chooses; its future gives the result.
//! - `serve`: one thread's loop; the jobs waiting: [`Turns`] by lane (`turns.rs`).

use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use tokio::sync::oneshot;

use crate::detect::Detector;
use crate::turns::Turns;

type Job = Box<dyn FnOnce() + Send>;

/// Jobs queued or running, by lane.
type Outstanding = Arc<Mutex<HashMap<u64, usize>>>;

/// A handle to the analysis threads.
pub struct Analyst {
    prompt: mpsc::Sender<(u64, Job)>,
    bulk: mpsc::Sender<(u64, Job)>,
    outstanding: Outstanding,
}

/// The analysis thread is gone, or a job on it panicked (the thread itself carries on).
#[derive(Debug, thiserror::Error)]
#[error("the analysis did not complete")]
pub struct Interrupted;

impl Analyst {
    /// Starts the threads that run every analysis from now on.
    pub fn start() -> std::io::Result<Analyst> {
        let outstanding = Outstanding::default();
        let spawn = |name: &str, lower_priority: bool| -> std::io::Result<mpsc::Sender<(u64, Job)>> {
            let (jobs, queue) = mpsc::channel::<(u64, Job)>();
            let outstanding = outstanding.clone();
            thread::Builder::new().name(name.into()).spawn(move || {
                if lower_priority {
                    // Detection is the bulk of a flood's work, and a message waiting for it costs
                    // far less memory than a gateway event serenity has read but no worker has
                    // taken yet.
                    super::priority::yield_to_others();
                }
                serve(&queue, &outstanding);
            })?;
            Ok(jobs)
        };
        Ok(Analyst {
            prompt: spawn("bedside-analysis", false)?,
            bulk: spawn("bedside-analysis-bulk", true)?,
            outstanding,
        })
    }

    /// Queues `job` in `lane` now, to run with `detector`; the future gives its result once a
    /// thread has run it.
    pub fn run<T, F>(
        &self,
        lane: u64,
        detector: &Arc<Detector>,
        job: F,
    ) -> impl Future<Output = Result<T, Interrupted>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Detector) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let detector = detector.clone();
        let job: Job = Box::new(move || {
            let _ = tx.send(job(&detector));
        });
        let in_a_burst = {
            let mut outstanding = self.outstanding.lock().unwrap_or_else(|p| p.into_inner());
            let n = outstanding.entry(lane).or_default();
            *n += 1;
            *n > 1
        };
        let thread = if in_a_burst { &self.bulk } else { &self.prompt };
        let queued = thread.send((lane, job)).map_err(|_| Interrupted);
        async move {
            queued?;
            rx.await.map_err(|_| Interrupted)
        }
    }
}

/// One analysis thread: runs the jobs sent to it, lanes in turn, until the `Analyst` is dropped.
fn serve(queue: &mpsc::Receiver<(u64, Job)>, outstanding: &Mutex<HashMap<u64, usize>>) {
    let mut turns: Turns<u64, (u64, Job)> = Turns::default();
    loop {
        // Block only when nothing waits; otherwise take in whatever has arrived, so the next turn
        // is chosen among every lane that has work.
        if turns.is_empty() {
            match queue.recv() {
                Ok((lane, job)) => turns.push(lane, (lane, job)),
                Err(_) => return,
            }
        }
        while let Ok((lane, job)) = queue.try_recv() {
            turns.push(lane, (lane, job));
        }
        let Some((lane, job)) = turns.next() else { continue };
        // A panic must not take the thread (and every later message) with it; the job's caller
        // sees `Interrupted`.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            tracing::error!("an analysis panicked; its message is skipped");
        }
        let mut outstanding = outstanding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = outstanding.get_mut(&lane) {
            *n -= 1;
            if *n == 0 {
                outstanding.remove(&lane);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Message, Role};
    use crate::setup::Setup;

    #[tokio::test]
    async fn jobs_run_on_the_analysis_thread_and_return_their_results() {
        let setup = Setup::load(None).expect("embedded config");
        let analyst = Analyst::start().expect("thread");
        let (thread, flagged) = analyst
            .run(1, &setup.detector, |d| {
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
        let analyst = Analyst::start().expect("thread");
        let failed = analyst.run(1, &setup.detector, |_| -> usize { panic!("a bug in a rule") }).await;
        assert!(failed.is_err());
        let after = analyst.run(1, &setup.detector, |d| d.rule_count()).await.expect("the thread is still there");
        assert!(after > 0);
    }

    /// A detector for jobs that do not use one.
    fn detector() -> Arc<Detector> {
        static SETUP: std::sync::OnceLock<Setup> = std::sync::OnceLock::new();
        SETUP.get_or_init(|| Setup::load(None).expect("embedded config")).detector.clone()
    }

    /// Records, for each job, its lane, number and the thread it ran on.
    type Ran = Arc<std::sync::Mutex<Vec<(u64, usize, String)>>>;

    fn recorder(analyst: &Analyst, ran: &Ran, lane: u64, n: usize) -> impl Future<Output = Result<(), Interrupted>> {
        let ran = ran.clone();
        analyst.run(lane, &detector(), move |_| {
            let thread = thread::current().name().unwrap_or_default().to_string();
            ran.lock().expect("lock").push((lane, n, thread));
        })
    }

    /// A job that holds its thread until `release` is sent.
    fn holder(
        analyst: &Analyst,
        lane: u64,
    ) -> (std::sync::mpsc::Sender<()>, impl Future<Output = Result<(), Interrupted>>) {
        let (release, held) = std::sync::mpsc::channel::<()>();
        (
            release,
            analyst.run(lane, &detector(), move |_| {
                let _ = held.recv();
            }),
        )
    }

    #[tokio::test]
    async fn a_burst_goes_to_the_bulk_thread_and_a_quiet_lane_is_not_held_up_by_it() {
        let analyst = Analyst::start().expect("threads");
        let ran = Ran::default();
        // A burst in lane 1: its first job holds the prompt thread while the rest are queued, so
        // they are queued behind it, and the first of them holds the bulk thread.
        let (release_prompt, first) = holder(&analyst, 1);
        let (release_bulk, second) = holder(&analyst, 1);
        let burst: Vec<_> = (2..5).map(|n| recorder(&analyst, &ran, 1, n)).collect();
        release_prompt.send(()).expect("release");
        first.await.expect("first job");
        // The bulk thread is still busy with the burst; a quiet lane's job runs at once.
        let quiet = tokio::time::timeout(std::time::Duration::from_secs(5), recorder(&analyst, &ran, 2, 0)).await;
        quiet.expect("the quiet lane's job did not wait for the burst").expect("ran");
        release_bulk.send(()).expect("release");
        second.await.expect("second job");
        for job in burst {
            job.await.expect("burst job");
        }
        let ran = ran.lock().expect("lock").clone();
        assert_eq!(ran[0], (2, 0, "bedside-analysis".to_string()), "the quiet job, first, on the prompt thread");
        assert!(ran[1..].iter().all(|(lane, _, t)| *lane == 1 && t == "bedside-analysis-bulk"), "{ran:?}");
        assert_eq!(ran[1..].iter().map(|r| r.1).collect::<Vec<_>>(), [2, 3, 4], "a lane's jobs in order");
    }

    #[tokio::test]
    async fn lanes_in_a_burst_take_turns_on_the_bulk_thread() {
        let analyst = Analyst::start().expect("threads");
        let ran = Ran::default();
        // Hold both threads: lane 9's first job the prompt thread, its second the bulk thread.
        let (release_prompt, first) = holder(&analyst, 9);
        let (release_bulk, second) = holder(&analyst, 9);
        // Lane 1 queues five jobs, then lane 2 two: the first of each goes to the prompt thread.
        let mut jobs: Vec<_> = (0..5).map(|n| recorder(&analyst, &ran, 1, n)).collect();
        jobs.extend((0..2).map(|n| recorder(&analyst, &ran, 2, n)));
        release_bulk.send(()).expect("release");
        second.await.expect("held");
        release_prompt.send(()).expect("release");
        first.await.expect("held");
        for job in jobs {
            job.await.expect("job");
        }
        let on_bulk: Vec<(u64, usize)> = ran
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, _, t)| t == "bedside-analysis-bulk")
            .map(|(lane, n, _)| (*lane, *n))
            .collect();
        // Lane 2's one bulk job comes second, not after all of lane 1's.
        assert_eq!(on_bulk, [(1, 1), (2, 1), (1, 2), (1, 3), (1, 4)]);
    }
}
