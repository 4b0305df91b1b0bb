//! Checkpoints the store's write-ahead log on a thread and connection of its own.
//!
//! SQLite runs its automatic checkpoint inside the commit that takes the WAL past 1,000 pages, and
//! with `synchronous=NORMAL` a checkpoint syncs the database file to disk. The store serialises
//! its calls behind one lock, so that commit held every other call for as long as the disk took:
//! measured in the load run's flood, a 157 ms stall that a quiet guild's message waited behind.
//! Here the store's own connection never checkpoints; this thread does, from a second connection.
//! In WAL mode a (passive) checkpoint runs beside the writer without blocking it, so the sync
//! delays nobody.
//!
//! The thread checkpoints after every [`COMMITS_PER_CHECKPOINT`] commits (counted by a commit hook
//! on the store's connection), and after a quiet [`IDLE`] once anything was committed. It makes a
//! last checkpoint and ends when the [`Checkpointer`] is dropped.
//!
//! # Layout
//! - [`Checkpointer::start`]: opens the second connection, installs the hook, spawns the thread.
//! - `run`: the thread's loop.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Commits between two checkpoints. SQLite's own default is 1,000 WAL pages, and a decision's
/// transaction writes a handful of pages: this keeps the WAL about that size under load.
const COMMITS_PER_CHECKPOINT: u64 = 200;
/// How long after the last commit a quiet store is checkpointed anyway.
const IDLE: Duration = Duration::from_secs(2);

/// The checkpoint thread; dropping this stops it, after a last checkpoint.
pub struct Checkpointer {
    shared: Arc<Shared>,
    bell: SyncSender<()>,
    thread: Option<JoinHandle<()>>,
}

/// What the store's commit hook and the thread share.
#[derive(Default)]
struct Shared {
    commits: AtomicU64,
    stopping: AtomicBool,
}

impl Checkpointer {
    /// Takes over checkpointing from `store`, the store's connection to the database at `path`.
    pub fn start(store: &Connection, path: &Path) -> Result<Checkpointer, StoreError> {
        let shown = || path.display().to_string();
        let own = Connection::open(path).map_err(|e| super::classify(&shown(), e))?;
        store.pragma_update(None, "wal_autocheckpoint", 0)?;
        let shared = Arc::new(Shared::default());
        // Capacity 1: a bell already ringing needs no second ring.
        let (bell, rung) = mpsc::sync_channel::<()>(1);
        let (counted, ringer) = (shared.clone(), bell.clone());
        store.commit_hook(Some(move || {
            if (counted.commits.fetch_add(1, Ordering::Relaxed) + 1) % COMMITS_PER_CHECKPOINT == 0 {
                let _ = ringer.try_send(());
            }
            false // never veto the commit
        }));
        let on_thread = shared.clone();
        let thread = thread::Builder::new()
            .name("bedside-checkpoint".into())
            .spawn(move || run(&own, &on_thread, &rung))
            .map_err(|source| StoreError::Open { path: shown(), source })?;
        Ok(Checkpointer { shared, bell, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        // A full bell is already ringing: the thread wakes and sees `stopping` either way.
        let _ = self.bell.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, rung: &Receiver<()>) {
    let mut checkpointed = 0;
    loop {
        let _ = rung.recv_timeout(IDLE);
        let commits = shared.commits.load(Ordering::Relaxed);
        if commits != checkpointed {
            // PASSIVE: copy what no reader still needs, wait for nobody. A failure (the disk) is
            // logged and tried again next time; SQLite stays consistent either way.
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                Ok(()) => checkpointed = commits,
                Err(e) => tracing::warn!(error = %e, "could not checkpoint the store's log"),
            }
        }
        if shared.stopping.load(Ordering::Relaxed) {
            return;
        }
    }
}
