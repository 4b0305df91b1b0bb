//! Delivering the outbox: every action Bedside decided on (a DM, an alert, a reply, a share, a
//! removal, a reminder) waits in the store until Discord has it.
//!
//! Whoever records actions rings the [`Wake`] with their guild. The worker then reads that guild's
//! new actions and starts them as places allow (`outbox/queue.rs`: guilds take turns, each
//! message's actions are delivered in the order they were recorded — remove, then DM, then the
//! alert, which pings the author if the DM could not be delivered — by one task, different
//! messages concurrently). Once a guild holds a few places, its further deliveries run on the
//! overflow runtime (`overflow.rs`), through a REST client of their own when a proxy owns rate
//! limits ([`Clients`]). A transient failure (429, 5xx, a network error) is retried
//! in-process with backoff, then again later with a growing delay; an action that can never
//! succeed (DMs closed, a deleted channel or message) takes its fallback and is marked failed, not
//! retried forever. After a restart the worker finds what is still pending, and it looks again
//! every [`REDISCOVER`] in case a ring was missed: the store, not the worker, is the truth.
//!
//! # Layout
//! - [`Wake`]: "guild G has new actions".
//! - [`Courier`]: what the worker is handed (the store, the clock, the counters, the overflow
//!   runtime): not the bot, whose handlers and view of the guilds it does not need.
//! - [`run`]: the worker's loop; [`Clients`]: the REST clients it delivers through.
//! - `deliver` / `carry_out`: one action over REST, and what its result means.
//! - [`Act`]: an action as stored.
//! - `outbox/queue.rs`: what the worker has read and started.

mod queue;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateButton, CreateMessage, EditMessage, Http,
    MessageId, Nonce, UserId,
};
use tokio::sync::Notify;

use tokio::runtime::Handle;

use super::clock::Clock;
use super::counters::Counters;
use super::deliver::{Failure, classify, message_is_gone, with_retry};
use super::embed::embed;
use crate::notice::{self, Notice};
use crate::store::{NewAction, Pending, Store, StoreError};
use queue::{Delivered, Queue};

/// How often the worker looks in the store for guilds with pending actions it was not told of.
const REDISCOVER: Duration = Duration::from_secs(30);
/// How long the worker sleeps with nothing to do before it looks at the time again (retries).
const TICK: Duration = Duration::from_secs(1);
/// The longest a failing action waits before its next try.
const MAX_RETRY_DELAY: u64 = 3600;
/// How long after a delivery task ended without a word (a panic) its actions are tried again.
const AFTER_A_LOST_TASK: u64 = 30;
/// How long after the store failed to record a delivery's result that is tried again.
const AFTER_A_STORE_ERROR: u64 = 2;

/// What became of a delivered action, to be recorded in the store.
#[derive(Clone, Debug, PartialEq)]
enum Settled {
    Sent,
    Failed(String),
}

/// Results the store could not record when they happened, by action id. While an action is here,
/// it is not carried out again: only its result is recorded again. So an action delivered once is
/// never delivered a second time because a mark failed. (Across a restart, Discord's nonce check
/// on the message, keyed by the action id, stops the repeat.)
#[derive(Debug, Default)]
pub struct Unrecorded(Mutex<HashMap<i64, Settled>>);

impl Unrecorded {
    fn get(&self, id: i64) -> Option<Settled> {
        self.0.lock().ok()?.get(&id).cloned()
    }

    fn keep(&self, id: i64, settled: Settled) {
        if let Ok(mut kept) = self.0.lock() {
            kept.insert(id, settled);
        }
    }

    fn forget(&self, id: i64) {
        if let Ok(mut kept) = self.0.lock() {
            kept.remove(&id);
        }
    }
}

/// Rung when actions are recorded, with their guild; the outbox worker waits on it.
#[derive(Debug, Default)]
pub struct Wake {
    guilds: Mutex<Vec<Option<u64>>>,
    notify: Notify,
}

impl Wake {
    /// New actions were recorded for `guild` (`None`: of no guild).
    pub fn recorded(&self, guild: Option<u64>) {
        if let Ok(mut guilds) = self.guilds.lock() {
            if !guilds.contains(&guild) {
                guilds.push(guild);
            }
        }
        self.notify.notify_one();
    }

    /// The guilds rung for since the last call.
    fn take(&self) -> Vec<Option<u64>> {
        self.guilds.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default()
    }
}

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
    /// A notice for staff in the alert channel that concerns no message: the problems that kept a
    /// configuration reload from being applied.
    Staff {
        channel: u64,
        notice: Notice,
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
            Act::Staff { .. } => "staff",
        }
    }

    pub fn to_new(&self) -> NewAction {
        NewAction { kind: self.kind().to_string(), payload: serde_json::to_string(self).unwrap_or_default() }
    }
}

/// What the outbox worker is handed.
#[derive(Clone)]
pub struct Courier {
    pub store: Arc<Store>,
    pub clock: Clock,
    /// Deliveries are counted here for `/bedside status`.
    pub counters: Arc<Counters>,
    /// Where a crowded guild's deliveries run (see `overflow.rs`).
    pub overflow: Handle,
}

impl Courier {
    fn now(&self) -> u64 {
        (self.clock)()
    }

    fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.store)
    }

    fn action_state(&self, kind: &str, message: u64) -> Option<String> {
        match self.store.action_state(kind, message) {
            Ok(state) => state.map(|(status, _)| status),
            Err(e) => {
                tracing::error!(message, kind, error = %e, "could not read an action's state");
                None
            }
        }
    }

    /// Whether a message's action of this kind was carried out.
    fn action_sent(&self, kind: &str, message: u64) -> bool {
        self.action_state(kind, message).as_deref() == Some("sent")
    }

    /// Whether a message's action of this kind can never be carried out.
    fn action_failed(&self, kind: &str, message: u64) -> bool {
        self.action_state(kind, message).as_deref() == Some("failed")
    }
}

/// The REST clients deliveries go out on.
pub struct Clients {
    /// Every guild's, except…
    pub http: Arc<Http>,
    /// …a crowded guild's, whose deliveries run on the overflow runtime: a client of their own
    /// when a proxy owns rate limits, else the same one (see `run` in `mod.rs`).
    pub crowded: Arc<Http>,
}

/// Runs until the task is aborted: keeps up to [`queue::CONCURRENT_MESSAGES`] messages' actions
/// in delivery, starting more as places free, as actions are recorded, and as retries fall due.
pub async fn run(courier: Courier, clients: Clients, wake: Arc<Wake>) {
    let mut queue: Queue<tokio::task::Id> = Queue::default();
    let mut tasks = tokio::task::JoinSet::new();
    let overflow = courier.overflow.clone();
    let mut discovered: Option<Instant> = None;
    let unrecorded = Arc::new(Unrecorded::default());
    loop {
        if discovered.is_none_or(|at| at.elapsed() >= REDISCOVER) {
            match courier.with_store(|s| s.pending_guilds()) {
                Ok(guilds) => {
                    guilds.into_iter().for_each(|g| queue.recorded(g));
                    discovered = Some(Instant::now());
                }
                Err(e) => tracing::error!(error = %e, "could not read the outbox"),
            }
        }
        wake.take().into_iter().for_each(|g| queue.recorded(g));
        let now = courier.now();
        while let Some(start) = courier.with_store(|s| Ok(queue.next_start(now, s))).unwrap_or(None) {
            let crowded = queue.is_crowded(start.guild);
            let http = if crowded { clients.crowded.clone() } else { clients.http.clone() };
            let (courier, actions, unrecorded) = (courier.clone(), start.actions.clone(), unrecorded.clone());
            let delivery = async move { deliver_all(&courier, &http, &unrecorded, actions).await };
            let task = if crowded { tasks.spawn_on(delivery, &overflow) } else { tasks.spawn(delivery) };
            queue.started(task.id(), &start);
        }
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => match done {
                Ok((id, delivered)) => queue.finished(&id, delivered),
                Err(e) => {
                    tracing::error!(error = %e, "an outbox delivery task failed; its actions will be tried again");
                    queue.finished(&e.id(), Delivered::Lost { at: courier.now() + AFTER_A_LOST_TASK });
                }
            },
            () = wake.notify.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
}

/// Carries out a message's actions in order; stops at one that is to be tried again later, since
/// a later action may depend on it (the alert mentions the author if the DM failed).
async fn deliver_all(courier: &Courier, http: &Http, unrecorded: &Unrecorded, actions: Vec<Pending>) -> Delivered {
    for (i, pending) in actions.iter().enumerate() {
        if let Some(at) = deliver(courier, http, unrecorded, pending).await {
            return Delivered::Stopped { at, left: actions[i..].iter().map(|p| p.id).collect() };
        }
    }
    Delivered::All
}

/// Records what became of a delivered action. On a store error the result is kept in
/// `unrecorded` and `Some(time)` says when to record it again (see [`Unrecorded`]).
fn settle(courier: &Courier, unrecorded: &Unrecorded, p: &Pending, settled: Settled, now: u64) -> Option<u64> {
    let recorded = courier.with_store(|s| match &settled {
        Settled::Sent => s.mark_sent(p.id, now),
        Settled::Failed(why) => s.mark_failed(p.id, why, now),
    });
    match recorded {
        Ok(()) => {
            unrecorded.forget(p.id);
            None
        }
        Err(e) => {
            tracing::error!(
                action = p.id,
                kind = %p.kind,
                message = p.message_id.unwrap_or_default(),
                error = %e,
                "could not record a delivery's result; it is kept and recorded again, not delivered again"
            );
            unrecorded.keep(p.id, settled);
            Some(now + AFTER_A_STORE_ERROR)
        }
    }
}

/// Carries out one action and records the result. `Some(time)` when it is to be tried again then.
async fn deliver(courier: &Courier, http: &Http, unrecorded: &Unrecorded, p: &Pending) -> Option<u64> {
    if let Some(settled) = unrecorded.get(p.id) {
        // Delivered (or given up) before; only the store has not heard.
        return settle(courier, unrecorded, p, settled, courier.now());
    }
    let act: Act = match serde_json::from_str(&p.payload) {
        Ok(act) => act,
        Err(e) => {
            tracing::error!(action = p.id, error = %e, "an unreadable outbox entry; marking it failed");
            return settle(courier, unrecorded, p, Settled::Failed("unreadable payload".into()), courier.now());
        }
    };
    let message = p.message_id.unwrap_or_default();
    let result = carry_out(courier, http, &act, message, p.id).await;
    let now = courier.now();
    match result {
        Ok(()) => {
            count_success(courier, &act);
            settle(courier, unrecorded, p, Settled::Sent, now)
        }
        Err(e) => match classify(&e) {
            Failure::DmsClosed => {
                courier.counters.dms_closed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(action = p.id, message, "the author's DMs are closed; the alert will mention them");
                settle(courier, unrecorded, p, Settled::Failed("dms_closed".into()), now)
            }
            Failure::Permanent => {
                courier.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(action = p.id, kind = act.kind(), message, error = %e, "an action can never succeed; giving it up");
                settle(courier, unrecorded, p, Settled::Failed(short(&e)), now)
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
                if let Err(e) = courier.with_store(|s| s.mark_retry(p.id, &short(&e), now + delay)) {
                    // Nothing was delivered: the action stays pending and is tried again anyway.
                    tracing::error!(action = p.id, message, error = %e, "could not record a retry");
                }
                Some(now + delay)
            }
        },
    }
}

/// The nonce a message sent for an action carries: Discord refuses a second message with the same
/// nonce from Bedside for a few minutes (`enforce_nonce`), so a send repeated after a lost answer
/// or a restart does not post twice.
fn once(create: CreateMessage, action: i64) -> CreateMessage {
    create.nonce(Nonce::Number(action as u64)).enforce_nonce(true)
}

fn short(e: &serenity::Error) -> String {
    e.to_string().chars().take(200).collect()
}

fn count_success(courier: &Courier, act: &Act) {
    let c = &courier.counters;
    match act {
        Act::Remove { .. } => c.removed.fetch_add(1, Ordering::Relaxed),
        Act::Reply { .. } => c.acknowledgements.fetch_add(1, Ordering::Relaxed),
        Act::Share { .. } => c.feedback_shared.fetch_add(1, Ordering::Relaxed),
        Act::Resolve { .. } => c.resolved_by_edit.fetch_add(1, Ordering::Relaxed),
        Act::Dm { .. } | Act::Alert { .. } | Act::Reminder { .. } | Act::Staff { .. } => 0,
    };
}

async fn carry_out(
    courier: &Courier,
    http: &Http,
    act: &Act,
    message: u64,
    action: i64,
) -> Result<(), serenity::Error> {
    match act {
        Act::Remove { channel, message } => {
            let removal = with_retry("remove message", || {
                ChannelId::new(*channel).delete_message(http, MessageId::new(*message))
            })
            .await;
            match removal {
                // Already gone: this removal went through before a restart lost its mark, or a
                // moderator was first. The post is down, which is what the removal is for, and the
                // author's DM and the alert should say so.
                Err(e) if message_is_gone(&e) => Ok(()),
                other => other,
            }
        }
        Act::Dm { author, notice, if_removed } => {
            let removed = courier.action_sent("remove", message);
            let chosen = match (removed, if_removed) {
                (true, Some(n)) => n,
                _ => notice,
            };
            let user = UserId::new(*author);
            let mut create = once(CreateMessage::new().embed(embed(chosen)), action);
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
            if courier.action_sent("remove", message) {
                notice::mark_removed(&mut n);
            }
            let dms_closed = courier.action_failed("dm", message);
            if dms_closed {
                notice::mention_closed_dms(&mut n, *author);
            }
            let mentions = if dms_closed {
                CreateAllowedMentions::new().users(vec![UserId::new(*author)])
            } else {
                CreateAllowedMentions::new()
            };
            let mut create =
                once(CreateMessage::new(), action).embed(embed(&n)).allowed_mentions(mentions).components(vec![
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
            // Where the alert is, for a later "resolved by edit". Its own failure must not send the
            // alert again: logged with ids, and the alert then stays as it is.
            if let Err(e) = courier.with_store(|s| s.set_alert(message, *channel, posted.id.get())) {
                tracing::error!(message, alert = posted.id.get(), error = %e, "could not record where an alert was posted");
            }
            Ok(())
        }
        Act::Reply { channel, message, text } => {
            let create = once(CreateMessage::new(), action)
                .content(text)
                .reference_message((ChannelId::new(*channel), MessageId::new(*message)))
                .allowed_mentions(CreateAllowedMentions::new().replied_user(false));
            with_retry("acknowledge", || ChannelId::new(*channel).send_message(http, create.clone())).await.map(|_| ())
        }
        Act::Share { channel, notice } => {
            let create = once(CreateMessage::new().embed(embed(notice)), action);
            with_retry("share feedback", || ChannelId::new(*channel).send_message(http, create.clone()))
                .await
                .map(|_| ())
        }
        Act::Resolve { notice } => {
            let flag = courier
                .with_store(|s| s.flag(message))
                .inspect_err(|e| tracing::error!(message, error = %e, "could not read where the alert to resolve is"));
            // A store error is tried again later (as a transient failure), not taken for "no alert".
            let flag = flag.map_err(|e| serenity::Error::Io(std::io::Error::other(e.to_string())))?;
            let Some((channel, alert)) = flag.and_then(|f| f.alert) else {
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
            let create =
                once(CreateMessage::new().embed(embed(notice)), action).components(vec![CreateActionRow::Buttons(
                    vec![
                        CreateButton::new(format!("tip:{target}:{tip_id}"))
                            .label("Post this tip")
                            .style(ButtonStyle::Primary),
                    ],
                )]);
            with_retry("post reminder", || ChannelId::new(*channel).send_message(http, create.clone()))
                .await
                .map(|_| ())
        }
        Act::Staff { channel, notice } => {
            let create = once(CreateMessage::new().embed(embed(notice)), action);
            with_retry("tell staff", || ChannelId::new(*channel).send_message(http, create.clone())).await.map(|_| ())
        }
    }
}
