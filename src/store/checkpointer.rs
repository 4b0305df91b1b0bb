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
//! A checkpoint still syncs, and on Linux (ext4) that sync writes out the log's own dirty pages
//! too, so a commit that writes to the log meanwhile can wait for the disk: measured in the load
//! run's flood with a checkpoint every 200 commits, one commit held the store's lock for 152 ms
//! during a 172 ms checkpoint. So the thread checkpoints when the store is quiet — no commit for
//! [`QUIET`] — and, for a store that is never quiet, after [`MOST_COMMITS`] commits (counted by a
//! commit hook on the store's connection). A burst then writes its log without a sync beside it,
//! and the log is copied into the database just after. It makes a last checkpoint and ends when
//! the [`Checkpointer`] is dropped.
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

/// A store with no commit for this long is quiet: its log is checkpointed then.
const QUIET: Duration = Duration::from_millis(250);
/// A store never quiet is checkpointed after this many commits anyway. A decision's transaction
/// writes a few pages, so the log stays in the tens of MB.
const MOST_COMMITS: u64 = 10_000;
/// What the log is cut back to once checkpointed, after a burst grew it.
pub const LOG_SIZE_LIMIT: i64 = 8 * 1024 * 1024;

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
        store.pragma_update(None, "journal_size_limit", LOG_SIZE_LIMIT)?;
        let shared = Arc::new(Shared::default());
        // Capacity 1: a bell already ringing needs no second ring.
        let (bell, rung) = mpsc::sync_channel::<()>(1);
        let (counted, ringer) = (shared.clone(), bell.clone());
        store.commit_hook(Some(move || {
            if (counted.commits.fetch_add(1, Ordering::Relaxed) + 1) % MOST_COMMITS == 0 {
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
    let (mut checkpointed, mut seen) = (0, 0);
    loop {
        let rung = rung.recv_timeout(QUIET).is_ok();
        let commits = shared.commits.load(Ordering::Relaxed);
        let stopping = shared.stopping.load(Ordering::Relaxed);
        let due = Look { checkpointed, seen, commits, rung: rung || stopping }.is_due();
        seen = commits;
        if due {
            // PASSIVE: copy what no reader still needs, wait for nobody. A failure (the disk) is
            // logged and tried again next time; SQLite stays consistent either way.
            match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                Ok(()) => checkpointed = commits,
                Err(e) => tracing::warn!(error = %e, "could not checkpoint the store's log"),
            }
        }
        if stopping {
            return;
        }
    }
}

/// What the thread sees when it looks (every [`QUIET`], or when rung), in commits counted.
#[derive(Clone, Copy, Debug)]
struct Look {
    /// At the last checkpoint.
    checkpointed: u64,
    /// At the last look.
    seen: u64,
    /// Now.
    commits: u64,
    /// Rung: [`MOST_COMMITS`] more commits, or the store is closing.
    rung: bool,
}

impl Look {
    /// Whether to checkpoint now: there is something to copy, and the store has been quiet since
    /// the last look, or the thread was rung.
    fn is_due(self) -> bool {
        self.commits != self.checkpointed && (self.commits == self.seen || self.rung)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_waits_for_a_quiet_store_or_a_ring() {
        let look = |checkpointed, seen, commits, rung| Look { checkpointed, seen, commits, rung }.is_due();
        assert!(!look(0, 0, 0, false), "nothing committed");
        assert!(!look(0, 0, 40, false), "commits since the last look: a burst, not yet");
        assert!(look(0, 40, 40, false), "quiet since: now");
        assert!(!look(40, 40, 40, false), "nothing new since the checkpoint");
        assert!(look(0, 10, 10_000, true), "rung after many commits, quiet or not");
        assert!(!look(10, 10, 10, true), "rung with nothing to copy");
    }
}
