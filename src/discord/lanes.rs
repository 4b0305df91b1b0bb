//! Admission for event handling: a lane per guild in front of one shared limit.
//!
//! Serenity spawns a task per gateway event, so a burst of 2,000 messages is 2,000 tasks at once.
//! They must wait somewhere, and where they wait decides who is delayed. With one shared queue, a
//! message in a quiet guild waits behind the whole burst of a busy one. Here each guild has its
//! own lane of a few places: a burst queues in its own lane, holds at most that many
//! of the shared places, and any other guild's message walks into a free one.
//!
//! Both semaphores are tokio's, which are fair (first come, first served), so within a guild
//! messages are still taken in the order they arrived.
//!
//! # Layout
//! - [`Lanes`]: the lanes and the shared limit; [`Lanes::enter`] waits for a place, and
//!   [`Lanes::is_full`] tells a guild in a burst (its work then goes to `overflow.rs`).
//! - [`Pass`]: a held place in a lane and in the shared limit, given back when dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The lane of direct messages, which belong to no guild.
pub const DIRECT: u64 = 0;

/// Per-guild lanes in front of a shared limit.
#[derive(Debug)]
pub struct Lanes {
    per_lane: usize,
    lanes: Mutex<HashMap<u64, Arc<Semaphore>>>,
    shared: Arc<Semaphore>,
}

/// A place in a lane and in the shared limit; both are given back when it is dropped.
#[derive(Debug)]
pub struct Pass {
    _lane: OwnedSemaphorePermit,
    _shared: OwnedSemaphorePermit,
}

impl Lanes {
    /// `per_lane` places for each guild, `shared` places in all.
    pub fn new(per_lane: usize, shared: usize) -> Lanes {
        Lanes { per_lane: per_lane.max(1), lanes: Mutex::new(HashMap::new()), shared: Arc::new(Semaphore::new(shared)) }
    }

    /// Waits for a place in `lane` (a guild id, or [`DIRECT`]), then in the shared limit.
    pub async fn enter(&self, lane: u64) -> Pass {
        let lane = self.lane(lane);
        // The semaphores are never closed, so acquiring cannot fail.
        let lane = lane.acquire_owned().await.expect("a lane is never closed");
        let shared = self.shared.clone().acquire_owned().await.expect("the shared limit is never closed");
        Pass { _lane: lane, _shared: shared }
    }

    /// Whether every place in `lane` is taken: what comes next waits, and is a burst's.
    pub fn is_full(&self, lane: u64) -> bool {
        self.lane(lane).available_permits() == 0
    }

    fn lane(&self, lane: u64) -> Arc<Semaphore> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lanes.entry(lane).or_insert_with(|| Arc::new(Semaphore::new(self.per_lane))).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_burst_in_one_guild_leaves_room_for_another() {
        let lanes = Arc::new(Lanes::new(2, 4));
        // Guild 1 fills its lane, and a hundred more of its messages queue behind.
        let held = [lanes.enter(1).await, lanes.enter(1).await];
        let waiting: Vec<_> = (0..100)
            .map(|_| {
                let lanes = lanes.clone();
                tokio::spawn(async move { drop(lanes.enter(1).await) })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(lanes.is_full(1) && !lanes.is_full(2));
        // Guild 2 is not behind them.
        let other = tokio::time::timeout(Duration::from_millis(200), lanes.enter(2)).await;
        assert!(other.is_ok(), "another guild's message gets a place at once");
        // Guild 1's own queue is not: its lane is full.
        assert!(tokio::time::timeout(Duration::from_millis(50), lanes.enter(1)).await.is_err());
        drop(held);
        for w in waiting {
            tokio::time::timeout(Duration::from_secs(5), w).await.expect("the queue drains").expect("task");
        }
    }

    #[tokio::test]
    async fn the_shared_limit_bounds_all_lanes_together() {
        let lanes = Lanes::new(2, 3);
        let _held = [lanes.enter(1).await, lanes.enter(1).await, lanes.enter(2).await];
        assert!(tokio::time::timeout(Duration::from_millis(50), lanes.enter(3)).await.is_err());
    }
}
