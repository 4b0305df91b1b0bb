//! Taking turns: work queued by lane (a guild, or direct messages), served one item per lane in
//! rotation, each lane's items in the order they came. So a burst in one lane never stands in
//! front of another lane's single item, yet nothing within a lane is reordered.
//!
//! Used for the analysis thread's jobs (`discord/analyst.rs`). The outbox is fair between guilds
//! too, but its items wait in the store, not here, so it rotates guilds with a read-ahead of each
//! (`discord/outbox/queue.rs`).
//!
//! # Layout
//! - [`Turns`]: the queues; as an iterator, each item comes from the lane whose turn it is, and
//!   that lane moves to the back.

use std::collections::VecDeque;

/// Items waiting by lane, lanes in turn: after a lane gives an item, it goes to the back.
#[derive(Debug)]
pub struct Turns<L, T> {
    lanes: VecDeque<(L, VecDeque<T>)>,
}

impl<L, T> Default for Turns<L, T> {
    fn default() -> Self {
        Turns { lanes: VecDeque::new() }
    }
}

impl<L: PartialEq, T> Turns<L, T> {
    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    /// Queues `item` at the back of `lane`; a new lane takes the last turn.
    pub fn push(&mut self, lane: L, item: T) {
        // A linear search: there are as many lanes as guilds with work waiting, a handful.
        match self.lanes.iter_mut().find(|(l, _)| *l == lane) {
            Some((_, items)) => items.push_back(item),
            None => self.lanes.push_back((lane, VecDeque::from([item]))),
        }
    }
}

/// The items in turn: the next comes from the lane whose turn it is.
impl<L, T> Iterator for Turns<L, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let (lane, mut items) = self.lanes.pop_front()?;
        let item = items.pop_front();
        if !items.is_empty() {
            self.lanes.push_back((lane, items));
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_take_turns_and_each_keeps_its_order() {
        let mut turns = Turns::default();
        for item in ["a1", "a2", "a3"] {
            turns.push(1, item);
        }
        turns.push(2, "b1");
        turns.push(1, "a4");
        turns.push(3, "c1");
        turns.push(2, "b2");
        let order: Vec<&str> = turns.by_ref().collect();
        assert_eq!(order, ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]);
        assert!(turns.is_empty());
    }
}
