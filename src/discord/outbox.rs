//! Delivering the outbox: every action Bedside decided on (a DM, an alert, a reply, a share, a
//! removal, a reminder) waits in the store until Discord has it.
//!
//! The worker wakes when an action is recorded (and once a second for retries), takes what is due
//! with guilds taking turns, and carries out each message's actions in the order they were
//! recorded (remove, then DM, then the alert, which pings the author if the DM could not be
//! delivered), different messages concurrently; one guild holds at most three quarters of the
//! places, so a burst there never makes another guild's action wait for a free one, and once it
//! holds a few, its further deliveries run on the overflow runtime (`overflow.rs`). A transient
//! failure (429, 5xx, a network error) is retried in-process with backoff, then again later with a
//! growing delay; an action that can never succeed (DMs closed, a deleted channel or message) takes
//! its fallback and is marked failed, not retried forever.
//! After a restart the worker simply finds what is still pending.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateButton, CreateMessage, EditMessage, Http,
    MessageId, UserId,
};
use tokio::sync::Notify;

use super::bot::{Bot, embed};
use super::deliver::{Failure, classify, with_retry};
use crate::notice::{self, Notice};
use crate::store::{NewAction, Pending};

/// How many messages' actions are delivered at once.
const CONCURRENT_MESSAGES: usize = 32;
/// How many of those places one guild may hold: a burst in one guild leaves the rest free, so
/// another guild's action starts at once instead of waiting for one of the burst's to finish.
const CONCURRENT_PER_GUILD: usize = 24;
/// A guild holding this many places is in a burst: its further deliveries run on the overflow
/// runtime (`overflow.rs`), so that another guild's are not queued behind them.
const QUIET_PLACES: usize = 4;
/// How many due actions one top-up reads.
const DUE_PAGE: usize = 200;
/// The longest a failing action waits before its next try.
const MAX_RETRY_DELAY: u64 = 3600;

/// One action, as stored in the outbox (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case")]
pub enum Act {
    Remove {
        channel: u64,
        message: u64,
    },
    /// The author's DM; `if_removed` is sent instead when the removal succeeded (it carries the
    /// author's own text, erased from the store once delivered).
    Dm {
        author: u64,
        notice: Notice,
        if_removed: Option<Notice>,
    },
    Alert {
        channel: u64,
        author: u64,
        notice: Notice,
    },
    Reply {
        channel: u64,
        message: u64,
        text: String,
    },
    Share {
        channel: u64,
        notice: Notice,
    },
    /// Marks the message's alert resolved. Where the alert is, is looked up at delivery: it runs
    /// after the message's alert action, so it is known by then even if the edit came first.
    Resolve {
        notice: Notice,
    },
    /// A stagnation reminder in the staff channel, with a button that posts the tip in `target`.
    Reminder {
        channel: u64,
        notice: Notice,
        target: u64,
        tip_id: String,
    },
}

impl Act {
    pub fn kind(&self) -> &'static str {
        match self {
            Act::Remove { .. } => "remove",
            Act::Dm { .. } => "dm",
            Act::Alert { .. } => "alert",
            Act::Reply { .. } => "reply",
            Act::Share { .. } => "share",
            Act::Resolve { .. } => "resolve",
            Act::Reminder { .. } => "reminder",
        }
    }

    pub fn to_new(&self) -> NewAction {
        NewAction { kind: self.kind().to_string(), payload: serde_json::to_string(self).unwrap_or_default() }
    }
}

/// Runs until the task is aborted: keeps up to [`CONCURRENT_MESSAGES`] messages' actions in
/// delivery, topping up with what is due (guilds taking turns, see [`Store::due`]) as places free
/// and whenever something new is recorded. There is no batch to wait for: a new action in a quiet
/// guild starts as soon as one delivery anywhere finishes.
///
/// [`Store::due`]: crate::store::Store::due
pub async fn run(bot: Arc<Bot>, http: Arc<Http>, wake: Arc<Notify>) {
    let mut in_flight: Places<tokio::task::Id> = Places::default();
    let mut tasks = tokio::task::JoinSet::new();
    let overflow = bot.overflow.clone();
    let mut top_up = true;
    loop {
        if top_up && in_flight.len() < CONCURRENT_MESSAGES {
            top_up = false;
            match bot.with_store(|s| s.due(bot.now(), DUE_PAGE)) {
                Ok(due) => {
                    for (group, actions) in groups(due) {
                        if in_flight.len() >= CONCURRENT_MESSAGES {
                            break;
                        }
                        let guild = actions.first().and_then(|p| p.guild);
                        if !in_flight.admits(group, guild) {
                            continue;
                        }
                        let (bot, http) = (bot.clone(), http.clone());
                        let delivery = async move {
                            for pending in actions {
                                if !deliver(&bot, &http, &pending).await {
                                    break; // a later action of this message may depend on this one
                                }
                            }
                        };
                        let task = if in_flight.is_crowded(guild) {
                            tasks.spawn_on(delivery, &overflow)
                        } else {
                            tasks.spawn(delivery)
                        };
                        in_flight.take(task.id(), group, guild);
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not read the outbox");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    top_up = true;
                    continue;
                }
            }
        }
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::error!(error = %e, "an outbox delivery task failed; its actions stay pending");
                        e.id()
                    }
                };
                in_flight.free(&id);
                // Refill in steps rather than after every delivery: each top-up is a query.
                top_up |= in_flight.len() <= CONCURRENT_MESSAGES / 2;
            }
            () = wake.notified() => top_up = true,
            () = tokio::time::sleep(Duration::from_secs(1)) => top_up = true,
        }
    }
}

/// The actions of one message (or one reminder), delivered in order by one task.
type Group = (u64, i64);

/// The delivery places taken, by the task holding each (`K`): which message's actions it
/// delivers, and for which guild.
#[derive(Debug)]
struct Places<K> {
    held: HashMap<K, (Group, Option<u64>)>,
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
        self.held.len() < CONCURRENT_MESSAGES
            && self.held_by(guild) < CONCURRENT_PER_GUILD
            && !self.held.values().any(|(g, _)| *g == group)
    }

    /// Whether `guild` holds enough places to be in a burst ([`QUIET_PLACES`]).
    fn is_crowded(&self, guild: Option<u64>) -> bool {
        self.held_by(guild) >= QUIET_PLACES
    }

    /// How many places `guild` holds.
    fn held_by(&self, guild: Option<u64>) -> usize {
        self.per_guild.get(&guild).copied().unwrap_or(0)
    }

    fn take(&mut self, key: K, group: Group, guild: Option<u64>) {
        if let Some((_, old)) = self.held.insert(key, (group, guild)) {
            self.release(old);
        }
        *self.per_guild.entry(guild).or_default() += 1;
    }

    fn free(&mut self, key: &K) {
        if let Some((_, guild)) = self.held.remove(key) {
            self.release(guild);
        }
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

/// Due actions grouped by message, groups in the order their first action came (the fair order).
fn groups(due: Vec<Pending>) -> Vec<(Group, Vec<Pending>)> {
    let mut order: Vec<(Group, Vec<Pending>)> = Vec::new();
    let mut index: HashMap<Group, usize> = HashMap::new();
    for p in due {
        let key = match p.message_id {
            Some(m) => (m, 0),
            None => (0, p.id),
        };
        match index.get(&key) {
            Some(&i) => order[i].1.push(p),
            None => {
                index.insert(key, order.len());
                order.push((key, vec![p]));
            }
        }
    }
    order
}

/// Carries out one action and records the result. False when it is to be tried again later.
async fn deliver(bot: &Bot, http: &Http, p: &Pending) -> bool {
    let act: Act = match serde_json::from_str(&p.payload) {
        Ok(act) => act,
        Err(e) => {
            tracing::error!(action = p.id, error = %e, "an unreadable outbox entry; marking it failed");
            let _ = bot.with_store(|s| s.mark_failed(p.id, "unreadable payload", bot.now()));
            return true;
        }
    };
    let message = p.message_id.unwrap_or_default();
    let result = carry_out(bot, http, &act, message).await;
    let now = bot.now();
    match result {
        Ok(()) => {
            let _ = bot.with_store(|s| s.mark_sent(p.id, now));
            count_success(bot, &act);
            true
        }
        Err(e) => match classify(&e) {
            Failure::DmsClosed => {
                bot.counters.dms_closed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(action = p.id, message, "the author's DMs are closed; the alert will mention them");
                let _ = bot.with_store(|s| s.mark_failed(p.id, "dms_closed", now));
                true
            }
            Failure::Permanent => {
                bot.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(action = p.id, kind = act.kind(), message, error = %e, "an action can never succeed; giving it up");
                let _ = bot.with_store(|s| s.mark_failed(p.id, &short(&e), now));
                true
            }
            Failure::Transient => {
                let delay = (30u64 << p.attempts.min(10)).min(MAX_RETRY_DELAY);
                tracing::warn!(
                    action = p.id,
                    kind = act.kind(),
                    message,
                    retry_in_s = delay,
                    "delivery failed for now"
                );
                let _ = bot.with_store(|s| s.mark_retry(p.id, &short(&e), now + delay));
                false
            }
        },
    }
}

fn short(e: &serenity::Error) -> String {
    e.to_string().chars().take(200).collect()
}

fn count_success(bot: &Bot, act: &Act) {
    let c = &bot.counters;
    match act {
        Act::Remove { .. } => c.removed.fetch_add(1, Ordering::Relaxed),
        Act::Reply { .. } => c.acknowledgements.fetch_add(1, Ordering::Relaxed),
        Act::Share { .. } => c.feedback_shared.fetch_add(1, Ordering::Relaxed),
        Act::Resolve { .. } => c.resolved_by_edit.fetch_add(1, Ordering::Relaxed),
        Act::Dm { .. } | Act::Alert { .. } | Act::Reminder { .. } => 0,
    };
}

async fn carry_out(bot: &Bot, http: &Http, act: &Act, message: u64) -> Result<(), serenity::Error> {
    match act {
        Act::Remove { channel, message } => {
            with_retry("remove message", || ChannelId::new(*channel).delete_message(http, MessageId::new(*message)))
                .await
        }
        Act::Dm { author, notice, if_removed } => {
            let removed = bot.action_sent("remove", message);
            let chosen = match (removed, if_removed) {
                (true, Some(n)) => n,
                _ => notice,
            };
            let user = UserId::new(*author);
            let mut create = CreateMessage::new().embed(embed(chosen));
            if !removed {
                create = create.components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new(format!("dismiss:author:{message}"))
                        .label("Not a problem")
                        .style(ButtonStyle::Secondary),
                ])]);
            }
            with_retry("dm author", || async {
                let channel = user.create_dm_channel(http).await?;
                channel.id.send_message(http, create.clone()).await
            })
            .await
            .map(|_| ())
        }
        Act::Alert { channel, author, notice } => {
            let mut n = notice.clone();
            if bot.action_sent("remove", message) {
                notice::mark_removed(&mut n);
            }
            let dms_closed = bot.action_failed("dm", message);
            if dms_closed {
                notice::mention_closed_dms(&mut n, *author);
            }
            let mentions = if dms_closed {
                CreateAllowedMentions::new().users(vec![UserId::new(*author)])
            } else {
                CreateAllowedMentions::new()
            };
            let mut create = CreateMessage::new().embed(embed(&n)).allowed_mentions(mentions).components(vec![
                CreateActionRow::Buttons(vec![
                    CreateButton::new(format!("confirm:{message}")).label("Confirm").style(ButtonStyle::Danger),
                    CreateButton::new(format!("dismiss:staff:{message}"))
                        .label("Dismiss")
                        .style(ButtonStyle::Secondary),
                ]),
            ]);
            if let Some(content) = &n.content {
                create = create.content(content);
            }
            let posted =
                with_retry("post alert", || ChannelId::new(*channel).send_message(http, create.clone())).await?;
            let _ = bot.with_store(|s| s.set_alert(message, *channel, posted.id.get()));
            Ok(())
        }
        Act::Reply { channel, message, text } => {
            let create = CreateMessage::new()
                .content(text)
                .reference_message((ChannelId::new(*channel), MessageId::new(*message)))
                .allowed_mentions(CreateAllowedMentions::new().replied_user(false));
            with_retry("acknowledge", || ChannelId::new(*channel).send_message(http, create.clone())).await.map(|_| ())
        }
        Act::Share { channel, notice } => {
            let create = CreateMessage::new().embed(embed(notice));
            with_retry("share feedback", || ChannelId::new(*channel).send_message(http, create.clone()))
                .await
                .map(|_| ())
        }
        Act::Resolve { notice } => {
            let Some((channel, alert)) = bot.with_store(|s| s.flag(message)).ok().flatten().and_then(|f| f.alert)
            else {
                // The alert was never posted (its channel is gone): nothing to update.
                tracing::info!(message, "no alert to resolve");
                return Ok(());
            };
            let edit = EditMessage::new().content("").embed(embed(notice)).components(vec![]);
            with_retry("resolve alert", || {
                ChannelId::new(channel).edit_message(http, MessageId::new(alert), edit.clone())
            })
            .await
            .map(|_| ())
        }
        Act::Reminder { channel, notice, target, tip_id } => {
            let create = CreateMessage::new().embed(embed(notice)).components(vec![CreateActionRow::Buttons(vec![
                CreateButton::new(format!("tip:{target}:{tip_id}")).label("Post this tip").style(ButtonStyle::Primary),
            ])]);
            with_retry("post reminder", || ChannelId::new(*channel).send_message(http, create.clone()))
                .await
                .map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: Option<u64> = Some(1);
    const QUIET: Option<u64> = Some(2);

    #[test]
    fn a_burst_in_one_guild_leaves_places_for_another() {
        let mut places = Places::default();
        for n in 0..CONCURRENT_PER_GUILD as u64 {
            assert!(places.admits((n, 0), BUSY));
            places.take(n, (n, 0), BUSY);
        }
        assert!(!places.admits((999, 0), BUSY), "the busy guild holds its share");
        assert!(places.admits((1000, 0), QUIET), "another guild's message starts at once");
        assert!(places.admits((1001, 0), None), "so does a direct message's");

        places.free(&0);
        assert!(places.admits((999, 0), BUSY), "a freed place is the busy guild's again");
    }

    #[test]
    fn a_guild_holding_its_quiet_share_of_places_is_crowded() {
        let mut places = Places::default();
        for n in 0..QUIET_PLACES as u64 {
            assert!(!places.is_crowded(BUSY), "{n} places held");
            places.take(n, (n, 0), BUSY);
        }
        assert!(places.is_crowded(BUSY));
        assert!(!places.is_crowded(QUIET), "only the guild that holds them");
        places.free(&0);
        assert!(!places.is_crowded(BUSY), "a freed place counts at once");
    }

    #[test]
    fn a_message_in_delivery_waits_and_every_place_counts() {
        let mut places = Places::default();
        places.take(0, (7, 0), QUIET);
        assert!(!places.admits((7, 0), QUIET), "its earlier actions are still being delivered");
        for n in 1..CONCURRENT_MESSAGES as u64 {
            places.take(n, (n + 100, 0), Some(n + 100));
        }
        assert_eq!(places.len(), CONCURRENT_MESSAGES);
        assert!(!places.admits((5000, 0), Some(5000)), "every place is taken");
        places.free(&0);
        places.free(&0);
        assert_eq!(places.len(), CONCURRENT_MESSAGES - 1, "freeing twice frees once");
        assert!(places.admits((7, 0), QUIET));
    }
}
