//! The live bot: serenity events in, the core's decisions carried out.
//!
//! Each handler gathers the facts (who wrote it, is the channel watched, roles, the time), asks
//! [`policy`](crate::policy) what to do, and acts: a DM and a staff alert for a flag, a reply and a
//! staff share for feedback. Handlers run concurrently (serenity spawns one task per event); a
//! semaphore bounds how many act at once, so a burst queues instead of piling up, and a slow REST
//! call holds up only its own message. Message ids already handled are remembered, so a resumed
//! gateway session that replays a message does not act twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serenity::all::{
    ChannelId, CommandInteraction, Context, CreateAllowedMentions, CreateEmbed, CreateMessage, EditMessage,
    EventHandler, GuildChannel, GuildId, Interaction, Message, MessageId, MessageType, MessageUpdateEvent,
    PartialMember, Permissions, Ready, RoleId, UserId,
};
use serenity::async_trait;
use tokio::sync::Semaphore;

use super::commands;
use super::deliver::{Failure, classify, with_retry};
use crate::detect::{Message as Draft, Role};
use crate::notice::{self, Notice};
use crate::policy::{self, Author, EditOutcome, Feedback, Flag, Incoming, Outcome, RoleRef};
use crate::setup::Setup;

/// How many messages are acted on at once; more wait their turn.
const CONCURRENT_ACTIONS: usize = 64;
/// How many handled message ids are remembered for replay protection.
const SEEN_CAPACITY: usize = 100_000;

/// Channel and role settings from the command line, which win over `config/`.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub watch: Vec<String>,
    pub staff_roles: Vec<String>,
    pub alert_channel: Option<String>,
    pub feedback_channel: Option<String>,
}

/// What Bedside has done since it started, for `/bedside status`.
#[derive(Debug, Default)]
pub struct Counters {
    pub messages: AtomicU64,
    pub flags: AtomicU64,
    pub dms_closed: AtomicU64,
    pub removed: AtomicU64,
    pub resolved_by_edit: AtomicU64,
    pub acknowledgements: AtomicU64,
    pub feedback_shared: AtomicU64,
    pub checks: AtomicU64,
    pub failures: AtomicU64,
}

#[derive(Clone, Debug)]
struct ChannelView {
    name: String,
    parent: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct GuildView {
    channels: HashMap<u64, ChannelView>,
    roles: HashMap<u64, (String, Permissions)>,
}

/// An alert staff can still see as open, so an edit can resolve it.
#[derive(Clone, Debug)]
struct OpenFlag {
    alert_channel: u64,
    alert_message: u64,
    rules: Vec<String>,
}

/// Remembers recently handled message ids, oldest forgotten first.
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Seen {
    /// True the first time an id is seen.
    fn insert(&mut self, id: u64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

/// The bot's state, shared by every handler.
pub struct Bot {
    pub setup: Setup,
    overrides: Overrides,
    staff: crate::config::StaffSettings,
    guilds: RwLock<HashMap<u64, GuildView>>,
    seen: Mutex<Seen>,
    /// Flagged messages with an open alert.
    open_flags: Mutex<HashMap<u64, OpenFlag>>,
    acknowledged: Mutex<HashMap<(u64, u64), u64>>,
    pub counters: Counters,
    me: OnceLock<u64>,
    limiter: Semaphore,
    tip_cursor: AtomicUsize,
    started: u64,
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Bot {
    pub fn new(setup: Setup, overrides: Overrides) -> Bot {
        let mut staff = setup.config.staff.clone();
        staff.roles.extend(overrides.staff_roles.iter().map(|r| r.trim().to_lowercase()));
        Bot {
            setup,
            overrides,
            staff,
            guilds: RwLock::new(HashMap::new()),
            seen: Mutex::new(Seen::default()),
            open_flags: Mutex::new(HashMap::new()),
            acknowledged: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            me: OnceLock::new(),
            limiter: Semaphore::new(CONCURRENT_ACTIONS),
            tip_cursor: AtomicUsize::new(0),
            started: unix_now(),
        }
    }

    fn watch_list(&self) -> Vec<String> {
        let list =
            if self.overrides.watch.is_empty() { &self.setup.config.discord.watch } else { &self.overrides.watch };
        list.iter().map(|c| c.trim().trim_start_matches('#').to_lowercase()).collect()
    }

    fn named(view: &GuildView, wanted: &str) -> Option<u64> {
        let wanted = wanted.trim().trim_start_matches('#').to_lowercase();
        if let Ok(id) = wanted.parse::<u64>() {
            return Some(id);
        }
        view.channels.iter().find(|(_, c)| c.name.to_lowercase() == wanted).map(|(id, _)| *id)
    }

    fn alert_channel(&self, guild: u64) -> Option<u64> {
        let name = self.overrides.alert_channel.as_ref().or(self.setup.config.discord.alert_channel.as_ref())?;
        Self::named(self.guilds.read().ok()?.get(&guild)?, name)
    }

    fn feedback_channel(&self, guild: u64) -> Option<u64> {
        let name = self.overrides.feedback_channel.as_ref().or(self.setup.config.discord.feedback_channel.as_ref())?;
        Self::named(self.guilds.read().ok()?.get(&guild)?, name)
    }

    /// A channel is watched when it, or the channel a thread hangs under, is on the watch list.
    fn watched(&self, guild: u64, channel: u64) -> bool {
        let watch = self.watch_list();
        let Ok(guilds) = self.guilds.read() else { return false };
        let Some(view) = guilds.get(&guild) else { return false };
        let listed = |id: u64| {
            watch.iter().any(|w| w == &id.to_string())
                || view.channels.get(&id).is_some_and(|c| watch.iter().any(|w| w == &c.name.to_lowercase()))
        };
        listed(channel) || view.channels.get(&channel).and_then(|c| c.parent).is_some_and(listed)
    }

    fn member_is_staff(&self, guild: u64, roles: &[RoleId], permissions: Option<Permissions>) -> bool {
        let Ok(guilds) = self.guilds.read() else { return false };
        let view = guilds.get(&guild);
        let mut perms = permissions.unwrap_or_else(|| {
            // Computed from the roles when Discord did not send them: @everyone's id is the guild's.
            let everyone = view.and_then(|v| v.roles.get(&guild)).map(|r| r.1).unwrap_or_default();
            roles
                .iter()
                .filter_map(|r| view.and_then(|v| v.roles.get(&r.get())).map(|r| r.1))
                .fold(everyone, |acc, p| acc | p)
        });
        if perms.contains(Permissions::ADMINISTRATOR) {
            perms = Permissions::all();
        }
        let names: Vec<(String, String)> = roles
            .iter()
            .map(|r| {
                (r.get().to_string(), view.and_then(|v| v.roles.get(&r.get())).map(|r| r.0.clone()).unwrap_or_default())
            })
            .collect();
        let mut have = Vec::new();
        for (flag, name) in [
            (Permissions::MANAGE_MESSAGES, "manage_messages"),
            (Permissions::MANAGE_GUILD, "manage_guild"),
            (Permissions::ADMINISTRATOR, "administrator"),
            (Permissions::MODERATE_MEMBERS, "moderate_members"),
        ] {
            if perms.contains(flag) {
                have.push(name);
            }
        }
        policy::is_staff(&self.staff, names.iter().map(|(id, name)| RoleRef { id, name }), &have)
    }

    pub fn interaction_is_staff(&self, command: &CommandInteraction) -> bool {
        match (&command.member, command.guild_id) {
            (Some(member), Some(guild)) => self.member_is_staff(guild.get(), &member.roles, member.permissions),
            _ => false,
        }
    }

    fn author(&self, guild: u64, user: &serenity::all::User, webhook: bool, member: Option<&PartialMember>) -> Author {
        if self.me.get() == Some(&user.id.get()) {
            Author::Myself
        } else if webhook {
            Author::Webhook
        } else if user.bot {
            Author::Bot
        } else if member.is_some_and(|m| self.member_is_staff(guild, &m.roles, m.permissions)) {
            Author::Staff
        } else {
            Author::Patient
        }
    }

    pub fn next_tip(&self) -> Option<String> {
        let tips = &self.setup.config.tips.tips;
        if tips.is_empty() {
            return None;
        }
        let i = self.tip_cursor.fetch_add(1, Ordering::Relaxed) % tips.len();
        Some(tips[i].text.clone())
    }

    pub fn status(&self) -> String {
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let watch = self.watch_list();
        format!(
            "**Bedside status**\nConfiguration: {}\nWatching: {}\nStaff roles: {}\nRules: {}\nUp since: <t:{}:R>\n\n\
             Messages read: {}\nFlags: {} (DMs closed: {}, removed: {}, resolved by edit: {})\n\
             Feedback acknowledged: {} (shared with staff: {})\nDraft checks: {}\nFailed actions: {}",
            self.setup.config.origin,
            if watch.is_empty() { "nothing (set discord.watch or --watch)".to_string() } else { watch.join(", ") },
            self.staff.roles.join(", "),
            self.setup.detector.rule_count(),
            self.started,
            n(&c.messages),
            n(&c.flags),
            n(&c.dms_closed),
            n(&c.removed),
            n(&c.resolved_by_edit),
            n(&c.acknowledgements),
            n(&c.feedback_shared),
            n(&c.checks),
            n(&c.failures),
        )
    }

    fn remember_guild(
        &self,
        guild: u64,
        channels: impl Iterator<Item = (u64, String, Option<u64>)>,
        roles: HashMap<u64, (String, Permissions)>,
    ) {
        if let Ok(mut guilds) = self.guilds.write() {
            let view = guilds.entry(guild).or_default();
            for (id, name, parent) in channels {
                view.channels.insert(id, ChannelView { name, parent });
            }
            if !roles.is_empty() {
                view.roles = roles;
            }
        }
    }

    fn remember_channel(&self, channel: &GuildChannel) {
        self.remember_guild(
            channel.guild_id.get(),
            std::iter::once((channel.id.get(), channel.name.clone(), channel.parent_id.map(|p| p.get()))),
            HashMap::new(),
        );
    }

    /// A thread Bedside has not seen yet: ask Discord which channel it hangs under.
    async fn learn_channel(&self, ctx: &Context, guild: u64, channel: ChannelId) {
        let known = self
            .guilds
            .read()
            .ok()
            .is_some_and(|g| g.get(&guild).is_some_and(|v| v.channels.contains_key(&channel.get())));
        if known {
            return;
        }
        match with_retry("fetch channel", || channel.to_channel(&ctx.http)).await {
            Ok(serenity::all::Channel::Guild(c)) => self.remember_channel(&c),
            Ok(_) => {}
            Err(e) => tracing::warn!(channel = channel.get(), error = %e, "could not look up a channel"),
        }
    }

    async fn on_message(&self, ctx: &Context, msg: &Message) {
        if self.me.get() == Some(&msg.author.id.get()) {
            return;
        }
        if !self.seen.lock().is_ok_and(|mut s| s.insert(msg.id.get())) {
            tracing::debug!(message = msg.id.get(), "already handled; ignoring the replay");
            return;
        }
        let _permit = self.limiter.acquire().await;
        let Some(guild) = msg.guild_id else {
            return self.on_direct_message(ctx, msg).await;
        };
        self.learn_channel(ctx, guild.get(), msg.channel_id).await;
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        let author = self.author(guild.get(), &msg.author, msg.webhook_id.is_some(), msg.member.as_deref());
        let incoming = Incoming {
            id: msg.id.get(),
            channel: msg.channel_id.get(),
            guild: Some(guild.get()),
            author_id: msg.author.id.get(),
            author,
            system: !matches!(msg.kind, MessageType::Regular | MessageType::InlineReply),
            watched: self.watched(guild.get(), msg.channel_id.get()),
            text: &msg.content,
            is_reply: msg.message_reference.is_some(),
            mentions: msg
                .mentions
                .iter()
                .filter(|u| msg.referenced_message.as_ref().is_none_or(|r| r.author.id != u.id))
                .count(),
            posted_at: msg.timestamp.unix_timestamp().max(0) as u64,
        };
        let now = unix_now();
        let outcome = {
            let Ok(ledger) = self.acknowledged.lock() else { return };
            policy::decide(&self.setup.config, &self.setup.detector, &incoming, &*ledger, now)
        };
        match outcome {
            Outcome::Flag(flag) => self.act_flag(ctx, guild, &flag, Some(&msg.content)).await,
            Outcome::Feedback(feedback) => self.act_feedback(ctx, guild, msg, &feedback, now).await,
            Outcome::Skip(_) | Outcome::Clean => {}
        }
    }

    async fn act_flag(&self, ctx: &Context, guild: GuildId, flag: &Flag, text: Option<&str>) {
        self.counters.flags.fetch_add(1, Ordering::Relaxed);
        tracing::info!(message = flag.message, channel = flag.channel, author = flag.author, rules = ?flag.rule_ids(), "flagged a staff message");
        let channel = ChannelId::new(flag.channel);
        let removed = flag.remove
            && match with_retry("remove message", || channel.delete_message(&ctx.http, MessageId::new(flag.message)))
                .await
            {
                Ok(()) => {
                    self.counters.removed.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(e) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(message = flag.message, error = %e, "could not remove a flagged message (Manage Messages?)");
                    false
                }
            };
        let dm = notice::author_dm(flag, if removed { text } else { None });
        let author = UserId::new(flag.author);
        let sent = with_retry("dm author", || async {
            let channel = author.create_dm_channel(&ctx.http).await?;
            channel.id.send_message(&ctx.http, CreateMessage::new().embed(embed(&dm))).await
        })
        .await;
        let dms_closed = match &sent {
            Ok(_) => false,
            Err(e) if classify(e) == Failure::DmsClosed => {
                self.counters.dms_closed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(author = flag.author, "the author's DMs are closed; the alert will mention them");
                true
            }
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(author = flag.author, error = %e, "could not DM the author");
                true
            }
        };
        let Some(alerts) = self.alert_channel(guild.get()) else {
            tracing::warn!(guild = guild.get(), "no alert channel found; set discord.alert_channel or --alert-channel");
            return;
        };
        let alert = notice::staff_alert(flag, dms_closed, removed);
        let mentions =
            if dms_closed { CreateAllowedMentions::new().users(vec![author]) } else { CreateAllowedMentions::new() };
        let post = with_retry("post alert", || {
            ChannelId::new(alerts).send_message(&ctx.http, message_for(&alert).allowed_mentions(mentions.clone()))
        })
        .await;
        match post {
            Ok(posted) => {
                if let Ok(mut open) = self.open_flags.lock() {
                    let rules = flag.rule_ids().into_iter().map(str::to_string).collect();
                    open.insert(
                        flag.message,
                        OpenFlag { alert_channel: alerts, alert_message: posted.id.get(), rules },
                    );
                }
            }
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = alerts, error = %e, "could not post a staff alert");
            }
        }
    }

    async fn act_feedback(&self, ctx: &Context, guild: GuildId, msg: &Message, feedback: &Feedback, now: u64) {
        tracing::info!(message = feedback.message, channel = feedback.channel, kind = %feedback.kind, reply = feedback.reply.is_some(), "patient feedback");
        if let Some(reply) = &feedback.reply {
            let create = CreateMessage::new()
                .content(reply)
                .reference_message(msg)
                .allowed_mentions(CreateAllowedMentions::new().replied_user(false));
            match with_retry("acknowledge", || msg.channel_id.send_message(&ctx.http, create.clone())).await {
                Ok(_) => {
                    self.counters.acknowledgements.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut ledger) = self.acknowledged.lock() {
                        ledger.insert((feedback.author, feedback.channel), now);
                    }
                }
                Err(e) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(message = feedback.message, error = %e, "could not acknowledge feedback");
                }
            }
        }
        let Some(channel) = self.feedback_channel(guild.get()) else {
            tracing::warn!(
                guild = guild.get(),
                "no feedback channel found; set discord.feedback_channel or --feedback-channel"
            );
            return;
        };
        let share = notice::feedback_share(feedback);
        match with_retry("share feedback", || ChannelId::new(channel).send_message(&ctx.http, message_for(&share)))
            .await
        {
            Ok(_) => {
                self.counters.feedback_shared.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel, error = %e, "could not share feedback with staff");
            }
        }
    }

    async fn on_edit(&self, ctx: &Context, event: &MessageUpdateEvent) {
        let (Some(text), Some(guild), Some(user)) = (&event.content, event.guild_id, &event.author) else {
            return; // not a content edit (an embed unfurled, a pin), or not in a server
        };
        let _permit = self.limiter.acquire().await;
        let member = event.member.as_ref().and_then(|m| m.as_deref());
        let webhook = event.webhook_id.is_some_and(|w| w.is_some());
        let incoming = Incoming {
            id: event.id.get(),
            channel: event.channel_id.get(),
            guild: Some(guild.get()),
            author_id: user.id.get(),
            author: self.author(guild.get(), user, webhook, member),
            system: event.kind.is_some_and(|k| !matches!(k, MessageType::Regular | MessageType::InlineReply)),
            watched: self.watched(guild.get(), event.channel_id.get()),
            text,
            is_reply: event.message_reference.as_ref().is_some_and(|r| r.is_some()),
            mentions: event.mentions.as_ref().map(Vec::len).unwrap_or_default(),
            posted_at: event.timestamp.map(|t| t.unix_timestamp().max(0) as u64).unwrap_or_else(unix_now),
        };
        let open = self.open_flags.lock().ok().and_then(|o| o.get(&event.id.get()).cloned());
        match policy::decide_edit(&self.setup.config, &self.setup.detector, &incoming, open.is_some()) {
            EditOutcome::Resolved => {
                let Some(OpenFlag { alert_channel: channel, alert_message: alert, .. }) = open else { return };
                let view = notice::resolved_by_edit(&incoming.link());
                let edit = EditMessage::new().content("").embed(embed(&view));
                match with_retry("resolve alert", || {
                    ChannelId::new(channel).edit_message(&ctx.http, MessageId::new(alert), edit.clone())
                })
                .await
                {
                    Ok(_) => {
                        self.counters.resolved_by_edit.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut o) = self.open_flags.lock() {
                            o.remove(&event.id.get());
                        }
                        tracing::info!(message = event.id.get(), "flag resolved by edit");
                    }
                    Err(e) => tracing::warn!(message = event.id.get(), error = %e, "could not update the alert"),
                }
            }
            EditOutcome::Flag(flag) => {
                // An edit that keeps the problem already alerted needs no second alert; a new
                // problem is flagged (again, by DM and alert).
                let same = open.is_some_and(|o| o.rules == flag.rule_ids());
                if !same {
                    self.act_flag(ctx, guild, &flag, Some(text)).await;
                }
            }
            EditOutcome::Nothing => {}
        }
    }

    /// A DM to Bedside: staff get their draft checked; anyone else is pointed to the practice.
    async fn on_direct_message(&self, ctx: &Context, msg: &Message) {
        if msg.author.bot || msg.content.trim().is_empty() {
            return;
        }
        let guilds: Vec<u64> = self.guilds.read().map(|g| g.keys().copied().collect()).unwrap_or_default();
        let mut staff = false;
        for guild in guilds {
            if let Ok(member) = GuildId::new(guild).member(&ctx.http, msg.author.id).await {
                if self.member_is_staff(guild, &member.roles, None) {
                    staff = true;
                    break;
                }
            }
        }
        let reply = if staff {
            self.counters.checks.fetch_add(1, Ordering::Relaxed);
            let analysis = self.setup.detector.analyze(&Draft::new(&msg.content, Role::Staff));
            message_for(&notice::check_answer(&msg.content, &analysis, &self.setup.detector))
        } else {
            let phone = self.setup.config.practice.phone_display.clone().unwrap_or_else(|| "the front desk".into());
            CreateMessage::new().content(format!(
                "Hi! Bedside checks staff drafts and can't help with personal questions here. For anything about your \
                 care, please call {} at {phone}.",
                self.setup.config.practice.name
            ))
        };
        if let Err(e) = with_retry("answer dm", || msg.channel_id.send_message(&ctx.http, reply.clone())).await {
            tracing::warn!(channel = msg.channel_id.get(), error = %e, "could not answer a DM");
        }
    }
}

/// An embed from a notice.
pub fn embed(n: &Notice) -> CreateEmbed {
    let mut e = CreateEmbed::new().title(&n.title).description(&n.description).colour(n.colour);
    for (name, value) in &n.fields {
        e = e.field(name, value, false);
    }
    e
}

fn message_for(n: &Notice) -> CreateMessage {
    let m = CreateMessage::new().embed(embed(n));
    match &n.content {
        Some(content) => m.content(content),
        None => m,
    }
}

/// serenity's event handler: each event, to the bot.
pub struct Handler(pub std::sync::Arc<Bot>);

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.0.me.set(ready.user.id.get());
        tracing::info!(user = ready.user.id.get(), guilds = ready.guilds.len(), "connected to Discord");
    }

    async fn guild_create(&self, ctx: Context, guild: serenity::all::Guild, _is_new: Option<bool>) {
        let channels = guild
            .channels
            .values()
            .chain(guild.threads.iter())
            .map(|c| (c.id.get(), c.name.clone(), c.parent_id.map(|p| p.get())))
            .collect::<Vec<_>>();
        let roles = guild.roles.values().map(|r| (r.id.get(), (r.name.clone(), r.permissions))).collect();
        self.0.remember_guild(guild.id.get(), channels.into_iter(), roles);
        if let Err(e) = guild.id.set_commands(&ctx.http, commands::definitions()).await {
            tracing::warn!(guild = guild.id.get(), error = %e, "could not register commands");
        }
        let watched: Vec<u64> =
            guild.channels.keys().map(|c| c.get()).filter(|c| self.0.watched(guild.id.get(), *c)).collect();
        tracing::info!(guild = guild.id.get(), watched = watched.len(), "ready in guild");
    }

    async fn channel_create(&self, _ctx: Context, channel: GuildChannel) {
        self.0.remember_channel(&channel);
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        self.0.remember_channel(&thread);
    }

    async fn message(&self, ctx: Context, msg: Message) {
        self.0.on_message(&ctx, &msg).await;
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        self.0.on_edit(&ctx, &event).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        if let Interaction::Command(command) = interaction {
            commands::handle(&self.0, &ctx, &command).await;
        }
    }
}
