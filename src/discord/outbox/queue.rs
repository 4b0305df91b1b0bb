//! What the outbox worker knows between store reads: which deliveries are in progress, how far it
//! has read each guild's actions, and which messages wait (for a retry's time, or for a delivery
//! of the same message to end). It decides what starts next; the worker (`outbox.rs`) spawns it.
//!
//! The store is the truth, and every pending action is read from it once, in order, when its
//! guild has room: a guild's actions are read in pages above the highest id read so far, so a
//! burst of thousands costs one small indexed read per page, not a re-read of everything pending
//! each time a place frees (measured before this: up to 10 ms per read, holding the store's lock
//! that every handler needs, about a thousand times a second in the load run's flood).
//!
//! Guilds take turns, each guild's messages in the order they were recorded, and each message's
//! actions in order by one task. A guild may hold [`CONCURRENT_PER_GUILD`] of the
//! [`CONCURRENT_MESSAGES`] places, so another guild's action never waits for a free one.
//!
//! # Layout
//! - [`Queue`]: [`Queue::recorded`] (a guild has new actions), [`Queue::next_start`] (what to
//!   start now), [`Queue::started`] / [`Queue::finished`] (a delivery's place).
//! - [`Start`], [`Delivered`]: a message's actions to deliver, and how that went.
//! - `Places`: the places taken, by guild.
//! - `Lane`: one guild's read-ahead.

use std::collections::{HashMap, VecDeque};

use crate::store::{Pending, Store, StoreError};

/// How many messages' actions are delivered at once.
pub const CONCURRENT_MESSAGES: usize = 32;
/// How many of those places one guild may hold: a burst in one guild leaves the rest free, so
/// another guild's action starts at once instead of waiting for one of the burst's to finish.
pub const CONCURRENT_PER_GUILD: usize = 24;
/// A guild holding this many places is in a burst: its further deliveries run on the overflow
/// runtime (`overflow.rs`), so that another guild's are not queued behind them.
const QUIET_PLACES: usize = 4;
/// Actions read from the store at once for one guild: a few messages' worth (a message has at
/// most six: remove, DM, alert, resolve; or reply and share).
const PAGE: usize = 16;
/// How long a message waits before it is tried again when its actions could not be read back.
const REREAD_DELAY: u64 = 5;

/// The actions of one message (or one reminder), delivered in order by one task:
/// `(message id, 0)`, or `(0, action id)` for an action of no message.
pub type Group = (u64, i64);

/// A message's actions to deliver now, in order.
#[derive(Debug)]
pub struct Start {
    pub group: Group,
    pub guild: Option<u64>,
    pub actions: Vec<Pending>,
}

/// How a delivery ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Every action was carried out, or given up for good (it took its fallback).
    All,
    /// An action failed for now: it and the ones after it (`left`, in order) are tried at `at`.
    Stopped { at: u64, left: Vec<i64> },
    /// The task ended without saying (it panicked): what of it is still pending is tried at `at`.
    Lost { at: u64 },
}

/// A message whose actions wait.
#[derive(Debug)]
struct Waiting {
    group: Group,
    guild: Option<u64>,
    /// Not before this time (seconds since the Unix epoch).
    at: u64,
    /// Its actions, read again when it starts: some may have been delivered meanwhile.
    ids: Vec<i64>,
}

/// One guild's actions read ahead of their start.
#[derive(Debug, Default)]
struct Lane {
    /// The highest action id read. Every pending action of the guild at or below it is being
    /// delivered, waits in [`Queue::waiting`], or is in `ahead`: reading resumes above it.
    read_to: i64,
    ahead: VecDeque<Pending>,
    /// The store may hold actions above `read_to`.
    more: bool,
}

/// The outbox worker's view, keyed by the tasks that hold places (`K`).
#[derive(Debug)]
pub struct Queue<K> {
    places: Places<K>,
    lanes: HashMap<Option<u64>, Lane>,
    /// Guilds with actions to start, in turn: after one starts a message, it goes to the back.
    turn: VecDeque<Option<u64>>,
    waiting: Vec<Waiting>,
}

impl<K> Default for Queue<K> {
    fn default() -> Self {
        Queue { places: Places::default(), lanes: HashMap::new(), turn: VecDeque::new(), waiting: Vec::new() }
    }
}

impl<K: std::hash::Hash + Eq> Queue<K> {
    /// `guild` has new actions in the store (or may have: at start, all guilds with any pending).
    pub fn recorded(&mut self, guild: Option<u64>) {
        self.lanes.entry(guild).or_default().more = true;
        if !self.turn.contains(&guild) {
            self.turn.push_back(guild);
        }
    }

    /// Whether `guild` holds enough places to be in a burst.
    pub fn is_crowded(&self, guild: Option<u64>) -> bool {
        self.places.held_by(guild) >= QUIET_PLACES
    }

    /// The next message whose actions can start now, if a place allows: first one that waited
    /// (its retry time has come, or the delivery it waited for ended), then new actions, guilds in
    /// turn. `None` when nothing can start until a delivery ends, something is recorded, or time
    /// passes. A failed store read is logged and tried again at the next call.
    pub fn next_start(&mut self, now: u64, store: &Store) -> Option<Start> {
        if self.places.len() >= CONCURRENT_MESSAGES {
            return None;
        }
        while let Some(i) = self.waiting.iter().position(|w| w.at <= now && self.places.admits(w.group, w.guild)) {
            let w = self.waiting.remove(i);
            match store.pending_rows(&w.ids) {
                Ok(actions) if actions.is_empty() => {} // all delivered meanwhile
                Ok(actions) => return Some(Start { group: w.group, guild: w.guild, actions }),
                Err(e) => {
                    tracing::error!(error = %e, "could not read back waiting outbox actions");
                    self.waiting.push(Waiting { at: now + REREAD_DELAY, ..w });
                    return None;
                }
            }
        }
        for _ in 0..self.turn.len() {
            let guild = self.turn.pop_front()?;
            let start = self.next_of(guild, now, store);
            if self.lanes.get(&guild).is_some_and(|l| l.more || !l.ahead.is_empty()) {
                self.turn.push_back(guild);
            }
            if start.is_some() {
                return start;
            }
        }
        None
    }

    /// The next message of `guild` that can start now; messages that must wait are set aside.
    fn next_of(&mut self, guild: Option<u64>, now: u64, store: &Store) -> Option<Start> {
        loop {
            if let Err(e) = self.read_ahead(guild, store) {
                tracing::error!(guild = ?guild, error = %e, "could not read the outbox");
                return None;
            }
            let lane = self.lanes.get_mut(&guild)?;
            let group = group_of(lane.ahead.front()?);
            if self.places.holds(group) || self.waiting.iter().any(|w| w.group == group) {
                // After the same message's actions: an edit's "resolved" after its alert.
                let ids = take_group(&mut lane.ahead, group).iter().map(|p| p.id).collect();
                self.wait(Waiting { group, guild, at: 0, ids });
                continue;
            }
            let first_due = lane.ahead.front().map_or(0, |p| p.next_attempt_at);
            if first_due > now {
                // A retry scheduled before a restart.
                let ids = take_group(&mut lane.ahead, group).iter().map(|p| p.id).collect();
                self.wait(Waiting { group, guild, at: first_due, ids });
                continue;
            }
            if !self.places.admits(group, guild) {
                return None; // the guild holds its share of the places
            }
            return Some(Start { group, guild, actions: take_group(&mut lane.ahead, group) });
        }
    }

    /// Reads `guild`'s next page when what is read ahead may not hold its first message whole.
    fn read_ahead(&mut self, guild: Option<u64>, store: &Store) -> Result<(), StoreError> {
        let lane = self.lanes.entry(guild).or_default();
        let whole = lane.ahead.front().is_some_and(|first| lane.ahead.iter().any(|p| group_of(p) != group_of(first)));
        if whole || !lane.more {
            return Ok(());
        }
        let page = store.pending_after(guild, lane.read_to, PAGE)?;
        lane.more = page.len() == PAGE;
        if let Some(last) = page.last() {
            lane.read_to = last.id;
        }
        lane.ahead.extend(page);
        Ok(())
    }

    /// Sets a message aside; a message already waiting takes these actions too, in order.
    fn wait(&mut self, waiting: Waiting) {
        match self.waiting.iter_mut().find(|w| w.group == waiting.group) {
            Some(w) => {
                w.ids.extend(waiting.ids);
                w.ids.sort_unstable();
                w.ids.dedup();
                w.at = w.at.max(waiting.at);
            }
            None => self.waiting.push(waiting),
        }
    }

    /// The task `key` delivers `start`'s actions.
    pub fn started(&mut self, key: K, start: &Start) {
        self.places.take(key, start.group, start.guild, start.actions.iter().map(|p| p.id).collect());
    }

    /// The task `key` ended: its place is free, and what it left is set aside for later.
    pub fn finished(&mut self, key: &K, delivered: Delivered) {
        let Some((group, guild, ids)) = self.places.free(key) else { return };
        match delivered {
            Delivered::All => {}
            Delivered::Stopped { at, left } => self.wait(Waiting { group, guild, at, ids: left }),
            Delivered::Lost { at } => self.wait(Waiting { group, guild, at, ids }),
        }
    }
}

fn group_of(p: &Pending) -> Group {
    match p.message_id {
        Some(m) => (m, 0),
        None => (0, p.id),
    }
}

/// The actions of `group` at the front of `ahead`.
fn take_group(ahead: &mut VecDeque<Pending>, group: Group) -> Vec<Pending> {
    let n = ahead.iter().take_while(|p| group_of(p) == group).count();
    ahead.drain(..n).collect()
}

/// The delivery places taken, by the task holding each (`K`): which message's actions it
/// delivers (their ids), and for which guild.
#[derive(Debug)]
struct Places<K> {
    held: HashMap<K, (Group, Option<u64>, Vec<i64>)>,
    per_guild: HashMap<Option<u64>, usize>,
}

impl<K> Default for Places<K> {
    fn default() -> Self {
        Places { held: HashMap::new(), per_guild: HashMap::new() }
    }
}

impl<K: std::hash::Hash + Eq> Places<K> {
    fn len(&self) -> usize {
        self.held.len()
    }

    /// May this message's actions start now? Not while its earlier actions are still being
    /// delivered (they go in order), not when its guild holds its share of the places, and not
    /// when every place is taken.
    fn admits(&self, group: Group, guild: Option<u64>) -> bool {
        self.held.len() < CONCURRENT_MESSAGES && self.held_by(guild) < CONCURRENT_PER_GUILD && !self.holds(group)
    }

    /// Whether this message's actions are being delivered.
    fn holds(&self, group: Group) -> bool {
        self.held.values().any(|(g, _, _)| *g == group)
    }

    /// How many places `guild` holds.
    fn held_by(&self, guild: Option<u64>) -> usize {
        self.per_guild.get(&guild).copied().unwrap_or(0)
    }

    fn take(&mut self, key: K, group: Group, guild: Option<u64>, ids: Vec<i64>) {
        if let Some((_, old, _)) = self.held.insert(key, (group, guild, ids)) {
            self.release(old);
        }
        *self.per_guild.entry(guild).or_default() += 1;
    }

    fn free(&mut self, key: &K) -> Option<(Group, Option<u64>, Vec<i64>)> {
        let freed = self.held.remove(key)?;
        self.release(freed.1);
        Some(freed)
    }

    fn release(&mut self, guild: Option<u64>) {
        if let Some(n) = self.per_guild.get_mut(&guild) {
            *n -= 1;
            if *n == 0 {
                self.per_guild.remove(&guild);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewAction;
    use crate::store::tests::flag_in as flag;

    const NOW: u64 = 1_790_000_000;
    const BUSY: Option<u64> = Some(1);
    const QUIET: Option<u64> = Some(2);

    fn act(kind: &str) -> NewAction {
        NewAction { kind: kind.into(), payload: "{}".into() }
    }

    /// Records a flag with its DM and alert, as the bot does, and tells the queue.
    fn record(store: &Store, queue: &mut Queue<u64>, guild: Option<u64>, message: u64) {
        store.record_flag(&flag(guild, message), &[act("dm"), act("alert")], NOW).expect("write");
        queue.recorded(guild);
    }

    /// Starts all that can start now, each in a task numbered from `first`; what each starts.
    fn start_all(queue: &mut Queue<u64>, store: &Store, now: u64, first: u64) -> Vec<(u64, Vec<String>)> {
        let mut started = Vec::new();
        let mut key = first;
        while let Some(start) = queue.next_start(now, store) {
            started.push((start.group.0, start.actions.iter().map(|p| p.kind.clone()).collect()));
            queue.started(key, &start);
            key += 1;
        }
        started
    }

    fn messages(started: &[(u64, Vec<String>)]) -> Vec<u64> {
        started.iter().map(|(m, _)| *m).collect()
    }

    #[test]
    fn guilds_take_turns_and_each_message_starts_whole_and_once() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        for m in 1..=5 {
            record(&store, &mut queue, BUSY, m);
        }
        record(&store, &mut queue, QUIET, 100);
        let started = start_all(&mut queue, &store, NOW, 0);
        // The quiet guild's message starts second, not sixth; messages in recorded order.
        assert_eq!(messages(&started), [1, 100, 2, 3, 4, 5]);
        assert!(started.iter().all(|(_, kinds)| kinds == &["dm", "alert"]), "{started:?}");
        // Nothing is started twice, though all of it is still pending in the store.
        queue.recorded(BUSY);
        assert!(queue.next_start(NOW, &store).is_none());
        // What is recorded next starts next.
        record(&store, &mut queue, BUSY, 6);
        assert_eq!(messages(&start_all(&mut queue, &store, NOW, 10)), [6]);
    }

    #[test]
    fn messages_are_read_whole_across_pages() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        // 3 actions each, 11 messages: 33 actions, more than a page, and each page ends mid-message.
        for m in 1..=11 {
            store.record_flag(&flag(BUSY, m), &[act("remove"), act("dm"), act("alert")], NOW).expect("write");
        }
        queue.recorded(BUSY);
        let started = start_all(&mut queue, &store, NOW, 0);
        assert_eq!(messages(&started), (1..=11).collect::<Vec<_>>());
        assert!(started.iter().all(|(_, kinds)| kinds == &["remove", "dm", "alert"]), "{started:?}");
    }

    #[test]
    fn a_burst_in_one_guild_leaves_places_for_another() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        for m in 1..=40 {
            record(&store, &mut queue, BUSY, m);
        }
        let started = start_all(&mut queue, &store, NOW, 0);
        assert_eq!(started.len(), CONCURRENT_PER_GUILD, "the busy guild holds its share");
        assert!(queue.is_crowded(BUSY) && !queue.is_crowded(QUIET));
        record(&store, &mut queue, QUIET, 100);
        record(&store, &mut queue, None, 200);
        assert_eq!(messages(&start_all(&mut queue, &store, NOW, 100)), [100, 200], "others start at once");
        // A freed place is the busy guild's again, for its next message.
        queue.finished(&0, Delivered::All);
        assert_eq!(messages(&start_all(&mut queue, &store, NOW, 200)), [25]);
    }

    #[test]
    fn every_place_counts() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        for g in 0..CONCURRENT_MESSAGES as u64 + 5 {
            record(&store, &mut queue, Some(1000 + g), g + 1);
        }
        let started = start_all(&mut queue, &store, NOW, 0);
        assert_eq!(started.len(), CONCURRENT_MESSAGES);
        queue.finished(&3, Delivered::All);
        queue.finished(&3, Delivered::All); // twice frees once
        assert_eq!(start_all(&mut queue, &store, NOW, 100).len(), 1);
    }

    #[test]
    fn a_delivery_stopped_by_a_failure_is_tried_again_at_its_time_as_it_is_then() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        record(&store, &mut queue, BUSY, 1);
        let start = queue.next_start(NOW, &store).expect("start");
        queue.started(0, &start);
        // The DM failed for now: it and the alert after it wait 30 s.
        let (dm, alert) = (start.actions[0].id, start.actions[1].id);
        store.mark_retry(dm, "500", NOW + 30).expect("retry");
        queue.finished(&0, Delivered::Stopped { at: NOW + 30, left: vec![dm, alert] });
        assert!(queue.next_start(NOW + 29, &store).is_none(), "not before its time");
        let again = queue.next_start(NOW + 30, &store).expect("then");
        assert_eq!(again.actions.iter().map(|p| (p.id, p.attempts)).collect::<Vec<_>>(), [(dm, 1), (alert, 0)]);
    }

    #[test]
    fn a_lost_delivery_is_tried_again_without_what_it_delivered() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        record(&store, &mut queue, BUSY, 1);
        let start = queue.next_start(NOW, &store).expect("start");
        queue.started(0, &start);
        store.mark_sent(start.actions[0].id, NOW).expect("the DM went out before the task was lost");
        queue.finished(&0, Delivered::Lost { at: NOW + 30 });
        let again = queue.next_start(NOW + 30, &store).expect("tried again");
        assert_eq!(again.actions.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(), ["alert"]);
    }

    #[test]
    fn an_action_for_a_message_in_delivery_waits_for_that_delivery() {
        let store = Store::open_in_memory().expect("store");
        let mut queue = Queue::default();
        record(&store, &mut queue, BUSY, 1);
        let start = queue.next_start(NOW, &store).expect("start");
        queue.started(0, &start);
        // An edit resolves the flag while its alert is still on its way.
        store.enqueue(BUSY, Some(1), &[act("resolve")], NOW).expect("write");
        queue.recorded(BUSY);
        record(&store, &mut queue, BUSY, 2);
        assert_eq!(messages(&start_all(&mut queue, &store, NOW, 1)), [2], "others are not held up");
        queue.finished(&0, Delivered::All);
        let after = start_all(&mut queue, &store, NOW, 2);
        assert_eq!(after, [(1, vec!["resolve".to_string()])]);
    }

    #[test]
    fn after_a_restart_pending_actions_start_and_retries_wait_for_their_time() {
        let store = Store::open_in_memory().expect("store");
        let mut before = Queue::default();
        record(&store, &mut before, BUSY, 1);
        record(&store, &mut before, BUSY, 2);
        let first = before.next_start(NOW, &store).expect("start");
        store.mark_retry(first.actions[0].id, "500", NOW + 60).expect("retry");
        // A new worker, told only which guilds have pending actions.
        let mut queue = Queue::default();
        for guild in store.pending_guilds().expect("guilds") {
            queue.recorded(guild);
        }
        assert_eq!(messages(&start_all(&mut queue, &store, NOW, 0)), [2], "message 1 is due in a minute");
        assert_eq!(messages(&start_all(&mut queue, &store, NOW + 60, 10)), [1]);
    }
}
