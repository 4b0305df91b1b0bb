//! The live bot: serenity events in, the core's decisions carried out.
//!
//! Each handler gathers the facts (who wrote it, is the channel watched, roles, the time), asks
//! [`policy`](crate::policy) what to do — on the [`Analyst`] thread, where all detection runs —
//! and records the actions for the outbox: a DM and a staff alert for a flag, a reply and a staff
//! share for feedback. Handlers run concurrently (serenity spawns one task per event); [`Lanes`]
//! bound how many act at once, per guild and in all, so a burst queues in its own guild's lane
//! instead of delaying other guilds, and a slow REST call holds up only its own message. Message
//! ids already handled are remembered, so a resumed gateway session that replays a message does
//! not act twice.
//!
//! The configuration the bot runs on is [`Live`], swapped whole by [`Bot::reload`]. Nothing waits
//! for the swap and nothing is dropped: a decision is queued with one configuration's rules and
//! thresholds together and finishes on them; a message handled across the swap may have its channel
//! and author checked on one configuration and be decided on the next, as if it had arrived a moment
//! earlier or later.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serenity::all::{
    ChannelId, ChannelType, Context, CreateMessage, EventHandler, GetMessages, GuildChannel, GuildId, Interaction,
    Member, Message, MessageId, MessageUpdateEvent, PartialGuildChannel, Permissions, Ready, RoleId, UserId,
};
use serenity::async_trait;
use serenity::cache::Cache;
use tokio::runtime::Handle;

use super::analyst::{Analyst, Interrupted};
use super::clock::{Clock, unix_now};
use super::commands::{self, Desk};
use super::counters::Counters;
use super::deliver::with_retry;
use super::embed::message_for;
use super::lanes::{self, Lanes};
use super::outbox::{Act, Courier, Wake};
use super::post::{Post, is_system};
use super::reload::{self, Reloaded};
use crate::config::{ConfigError, Problem, StaffSettings};
use crate::detect::{Message as Draft, Role};
use crate::notice::{self, Notice};
use crate::policy::{self, AckLedger, Author, EditOutcome, Feedback, Flag, Incoming, NoReply, Outcome, RoleRef};
use crate::setup::Setup;
use crate::store::{FeedbackRecord, NewAction, Store, StoreError};

/// How many messages are acted on at once, in all; more wait their turn.
const CONCURRENT_ACTIONS: usize = 64;
/// How many of those one guild may take: a burst in one guild leaves the rest to the others.
const CONCURRENT_PER_GUILD: usize = 8;
/// How many times recording a decision is tried again after a store error.
const RECORD_RETRIES: u32 = 3;
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

/// The configuration the bot runs on: what was loaded, with the command line's staff roles added.
/// Swapped whole on a reload, so a handler never sees half of one and half of another.
pub struct Live {
    pub setup: Setup,
    staff: StaffSettings,
}

impl Live {
    fn new(setup: Setup, overrides: &Overrides) -> Live {
        let mut staff = setup.config.staff.clone();
        staff.roles.extend(overrides.staff_roles.iter().map(|r| r.trim().to_lowercase()));
        Live { setup, staff }
    }
}

/// What Bedside needs to know of a channel or thread.
#[derive(Clone, Debug)]
struct ChannelFacts {
    guild: u64,
    name: String,
    /// The channel a thread hangs under (or a channel's category).
    parent: Option<u64>,
}

impl ChannelFacts {
    fn of(c: &GuildChannel) -> ChannelFacts {
        ChannelFacts { guild: c.guild_id.get(), name: c.name.clone(), parent: c.parent_id.map(|p| p.get()) }
    }
}

/// How many channels learned over REST are remembered (threads the cache does not hold).
const LEARNED_CAPACITY: usize = 10_000;

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
    live: RwLock<Arc<Live>>,
    /// Where the configuration is read again on a reload (`None`: the built-in one).
    config_dir: Option<PathBuf>,
    overrides: Overrides,
    /// serenity's cache of guilds, channels, threads and roles, which every create, update and
    /// delete event keeps current (set once the client is built; see `use_cache`).
    cache: OnceLock<Arc<Cache>>,
    /// Channels looked up over REST because the cache did not have them (a thread archived before
    /// Bedside connected), forgotten when deleted.
    learned: RwLock<HashMap<u64, ChannelFacts>>,
    /// A fast first check for replays; the store's record of handled ids is the durable one.
    seen: Mutex<Seen>,
    store: Arc<Store>,
    /// Wakes the outbox worker when something is recorded.
    pub wake: Arc<Wake>,
    pub counters: Arc<Counters>,
    me: OnceLock<u64>,
    lanes: Lanes,
    /// Where every analysis runs (see [`Analyst`]).
    analyst: Analyst,
    /// The runtime for the work of a guild in a burst (see `overflow.rs`).
    pub(crate) overflow: Handle,
    /// What each guild was warned about (a missing channel): once per guild, not per message.
    warned: Mutex<HashSet<(u64, &'static str)>>,
    tip_cursor: AtomicUsize,
    started: u64,
    clock: Clock,
}

impl Bot {
    /// `overflow`: where a crowded guild's work is spawned (see `overflow.rs`).
    pub fn new(
        setup: Setup,
        overrides: Overrides,
        store: Arc<Store>,
        clock: Clock,
        overflow: Handle,
    ) -> std::io::Result<Bot> {
        let analyst = Analyst::start()?;
        Ok(Bot {
            config_dir: setup.dir.clone(),
            live: RwLock::new(Arc::new(Live::new(setup, &overrides))),
            overrides,
            cache: OnceLock::new(),
            learned: RwLock::new(HashMap::new()),
            seen: Mutex::new(Seen::default()),
            store,
            wake: Arc::new(Wake::default()),
            counters: Arc::default(),
            me: OnceLock::new(),
            lanes: Lanes::new(CONCURRENT_PER_GUILD, CONCURRENT_ACTIONS),
            analyst,
            overflow,
            warned: Mutex::new(HashSet::new()),
            tip_cursor: AtomicUsize::new(0),
            started: clock(),
            clock,
        })
    }

    /// The configuration running now (a reload swaps it; what was read stays valid).
    pub fn live(&self) -> Arc<Live> {
        self.live.read().map(|l| l.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// What the outbox worker is handed.
    pub fn courier(&self) -> Courier {
        Courier {
            store: self.store.clone(),
            clock: self.clock.clone(),
            counters: self.counters.clone(),
            overflow: self.overflow.clone(),
        }
    }

    /// Reads the configuration directory again. If it is valid it runs from the next event on
    /// (events being handled finish on the one they started with; none is dropped). If not, the
    /// running one stays and every problem is posted in each guild's alert channel.
    pub async fn reload(&self) -> Reloaded {
        let Some(dir) = self.config_dir.clone() else {
            tracing::info!("running on the built-in configuration; there is no directory to reload");
            return Reloaded::Embedded;
        };
        let origin = dir.display().to_string();
        // Reading files and compiling the rules takes a while: off the runtime's workers.
        let loaded = tokio::task::spawn_blocking(move || Setup::load(Some(&dir))).await.unwrap_or_else(|_| {
            Err(ConfigError { problems: vec![Problem::new(origin.clone(), "loading it failed unexpectedly")] })
        });
        match loaded {
            Ok(setup) => {
                let rules = setup.detector.rule_count();
                let live = Arc::new(Live::new(setup, &self.overrides));
                match self.live.write() {
                    Ok(mut running) => *running = live,
                    Err(poisoned) => *poisoned.into_inner() = live,
                }
                tracing::info!(rules, "configuration reloaded");
                Reloaded::Swapped { origin, rules }
            }
            Err(error) => {
                tracing::warn!(
                    problems = error.problems.len(),
                    "configuration reload refused; keeping the running one"
                );
                self.tell_staff(&reload::problems_notice(&origin, &error));
                Reloaded::Kept(error)
            }
        }
    }

    /// Records a notice for each guild's alert channel, for the outbox to deliver.
    fn tell_staff(&self, notice: &Notice) {
        let guilds: Vec<u64> =
            self.cache.get().map(|c| c.guilds().iter().map(|g| g.get()).collect()).unwrap_or_default();
        let now = self.now();
        for guild in guilds {
            let Some(channel) = self.alert_channel(guild) else {
                tracing::warn!(guild, "no alert channel found to tell staff; set discord.alert_channel");
                continue;
            };
            let act = Act::Staff { channel, notice: notice.clone() }.to_new();
            match self.with_store(|s| s.enqueue(Some(guild), None, &[act], now)) {
                Ok(()) => self.wake.recorded(Some(guild)),
                Err(e) => tracing::error!(guild, error = %e, "could not record a notice for staff"),
            }
        }
    }

    /// Runs a store call. They are short (a WAL commit does not wait for the disk), so they run in
    /// place: handing them to `block_in_place` made the runtime start replacement worker threads
    /// under a flood, each growing its own regex caches (measured: memory tripled).
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.store)
    }

    fn watch_list(&self) -> Vec<String> {
        let live = self.live();
        let list =
            if self.overrides.watch.is_empty() { &live.setup.config.discord.watch } else { &self.overrides.watch };
        list.iter().map(|c| c.trim().trim_start_matches('#').to_lowercase()).collect()
    }

    /// Reads guilds, channels and roles from serenity's cache from now on.
    pub fn use_cache(&self, cache: Arc<Cache>) {
        let _ = self.cache.set(cache);
    }

    /// A guild as serenity's cache has it. Held briefly: the cache's lock is shared with the
    /// gateway's updates.
    fn guild_ref(&self, guild: u64) -> Option<serenity::cache::GuildRef<'_>> {
        self.cache.get()?.guild(GuildId::new(std::num::NonZeroU64::new(guild)?.get()))
    }

    /// A channel's or thread's name and parent: from the cache, else as learned over REST.
    fn channel_facts(&self, guild: u64, channel: u64) -> Option<ChannelFacts> {
        if let Some(g) = self.guild_ref(guild) {
            let found = g.channels.values().chain(g.threads.iter()).find(|c| c.id.get() == channel);
            if let Some(c) = found {
                return Some(ChannelFacts::of(c));
            }
        }
        self.learned.read().ok()?.get(&channel).filter(|c| c.guild == guild).cloned()
    }

    /// A channel given by id, or by name (looked up in the guild).
    fn named(&self, guild: u64, wanted: &str) -> Option<u64> {
        let wanted = wanted.trim().trim_start_matches('#').to_lowercase();
        if let Ok(id) = wanted.parse::<u64>() {
            // 0 is no channel (and serenity panics on it); `config check` reports it in config/.
            return Some(id).filter(|id| *id > 0);
        }
        let g = self.guild_ref(guild)?;
        g.channels.values().chain(g.threads.iter()).find(|c| c.name.to_lowercase() == wanted).map(|c| c.id.get())
    }

    fn alert_channel(&self, guild: u64) -> Option<u64> {
        let live = self.live();
        let name = self.overrides.alert_channel.as_ref().or(live.setup.config.discord.alert_channel.as_ref())?;
        self.named(guild, name)
    }

    /// Where stagnation reminders go: `discord.reminder_channel`, else the alert channel.
    pub fn reminder_channel(&self, guild: u64) -> Option<u64> {
        match &self.live().setup.config.discord.reminder_channel {
            Some(name) => self.named(guild, name),
            None => self.alert_channel(guild),
        }
    }

    /// The watched channels (not threads) of each guild Bedside is in.
    pub fn watched_channels(&self) -> Vec<(u64, Vec<u64>)> {
        let Some(cache) = self.cache.get() else { return Vec::new() };
        cache
            .guilds()
            .into_iter()
            .map(|guild| {
                // Read, then released before each channel is looked at.
                let channels: Vec<u64> = cache
                    .guild(guild)
                    .map(|g| g.channels.values().filter(|c| !is_thread(c)).map(|c| c.id.get()).collect())
                    .unwrap_or_default();
                let mut watched: Vec<u64> =
                    channels.into_iter().filter(|c| self.watched_directly(guild.get(), *c)).collect();
                watched.sort_unstable();
                (guild.get(), watched)
            })
            .collect()
    }

    /// When the bot started, by its clock.
    pub fn started(&self) -> u64 {
        self.started
    }

    fn feedback_channel(&self, guild: u64) -> Option<u64> {
        let live = self.live();
        let name = self.overrides.feedback_channel.as_ref().or(live.setup.config.discord.feedback_channel.as_ref())?;
        self.named(guild, name)
    }

    /// A channel on the watch list itself (not a thread under one).
    fn watched_directly(&self, guild: u64, channel: u64) -> bool {
        let watch = self.watch_list();
        watch.iter().any(|w| w == &channel.to_string())
            || self.channel_facts(guild, channel).is_some_and(|c| watch.iter().any(|w| w == &c.name.to_lowercase()))
    }

    /// A channel is watched when it, or the channel a thread hangs under, is on the watch list.
    fn watched(&self, guild: u64, channel: u64) -> bool {
        let parent = self.channel_facts(guild, channel).and_then(|c| c.parent);
        self.watched_directly(guild, channel) || parent.is_some_and(|p| self.watched_directly(guild, p))
    }

    fn member_is_staff(&self, guild: u64, roles: &[RoleId], permissions: Option<Permissions>) -> bool {
        // Each role's id, name and permissions, read from the cache and released before deciding.
        let (everyone, known): (Permissions, Vec<(String, String, Permissions)>) = match self.guild_ref(guild) {
            Some(g) => (
                // @everyone's id is the guild's.
                g.roles.get(&RoleId::new(guild)).map(|r| r.permissions).unwrap_or_default(),
                roles
                    .iter()
                    .map(|r| {
                        let role = g.roles.get(r);
                        (
                            r.get().to_string(),
                            role.map(|x| x.name.clone()).unwrap_or_default(),
                            role.map(|x| x.permissions).unwrap_or_default(),
                        )
                    })
                    .collect(),
            ),
            None => (
                Permissions::empty(),
                roles.iter().map(|r| (r.get().to_string(), String::new(), Permissions::empty())).collect(),
            ),
        };
        // Computed from the roles when Discord did not send them.
        let mut perms = permissions.unwrap_or_else(|| known.iter().fold(everyone, |acc, r| acc | r.2));
        if perms.contains(Permissions::ADMINISTRATOR) {
            perms = Permissions::all();
        }
        let names: Vec<(String, String)> = known.into_iter().map(|(id, name, _)| (id, name)).collect();
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
        policy::is_staff(&self.live().staff, names.iter().map(|(id, name)| RoleRef { id, name }), &have)
    }

    /// Seconds since the Unix epoch, from the bot's clock (tests move it).
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    fn author(&self, guild: u64, user: UserId, bot: bool, webhook: bool, roles: Option<&[RoleId]>) -> Author {
        if self.me.get() == Some(&user.get()) {
            Author::Myself
        } else if webhook {
            Author::Webhook
        } else if bot {
            Author::Bot
        } else {
            match roles {
                Some(r) if self.member_is_staff(guild, r, None) => Author::Staff,
                Some(_) => Author::Patient,
                // The member lookup failed: not known to be a patient, nor staff.
                None => Author::Unknown,
            }
        }
    }

    pub fn next_tip(&self) -> Option<String> {
        let live = self.live();
        let tips = &live.setup.config.tips.tips;
        if tips.is_empty() {
            return None;
        }
        let i = self.tip_cursor.fetch_add(1, Ordering::Relaxed) % tips.len();
        Some(tips[i].text.clone())
    }

    pub fn status(&self) -> String {
        let live = self.live();
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let watch = self.watch_list();
        format!(
            "**Bedside status**\nConfiguration: {}\nWatching: {}\nStaff roles: {}\nRules: {}\nUp since: <t:{}:R>\n\n\
             Messages read: {}\nFlags: {} (DMs closed: {}, removed: {}, resolved by edit: {})\n\
             Feedback acknowledged: {} (shared with staff: {})\nDraft checks: {}\nFailed actions: {}",
            live.setup.config.origin,
            if watch.is_empty() { "nothing (set discord.watch or --watch)".to_string() } else { watch.join(", ") },
            live.staff.roles.join(", "),
            live.setup.detector.rule_count(),
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

    /// Remembers a channel looked up over REST (bounded: the oldest are not told apart, all go).
    fn learn(&self, channel: &GuildChannel) {
        if let Ok(mut learned) = self.learned.write() {
            if learned.len() >= LEARNED_CAPACITY {
                learned.clear();
            }
            learned.insert(channel.id.get(), ChannelFacts::of(channel));
        }
    }

    /// Forgets a deleted channel, and the learned threads under it.
    fn forget_channel(&self, channel: u64) {
        if let Ok(mut learned) = self.learned.write() {
            learned.retain(|id, c| *id != channel && c.parent != Some(channel));
        }
    }

    /// A thread Bedside has not seen yet: ask Discord which channel it hangs under.
    async fn learn_channel(&self, ctx: &Context, guild: u64, channel: ChannelId) {
        if self.channel_facts(guild, channel.get()).is_some() {
            return;
        }
        match with_retry("fetch channel", || channel.to_channel(&ctx.http)).await {
            Ok(serenity::all::Channel::Guild(c)) => self.learn(&c),
            Ok(_) => {}
            Err(e) => tracing::warn!(channel = channel.get(), error = %e, "could not look up a channel"),
        }
    }

    /// Whether a message is new to Bedside and not its own: only those are handled.
    fn first_sight(&self, post: &Post) -> bool {
        if self.me.get() == Some(&post.author.get()) {
            return false;
        }
        let new = self.seen.lock().is_ok_and(|mut s| s.insert(post.id.get()));
        if !new {
            tracing::debug!(message_id = post.id.get(), "already handled; ignoring the replay");
        }
        new
    }

    /// Whether this is the first warning about `what` in `guild` since Bedside started.
    fn first_warning(&self, guild: u64, what: &'static str) -> bool {
        self.warned.lock().is_ok_and(|mut w| w.insert((guild, what)))
    }

    /// Whether a new message's guild is in a burst: its lane is full, so the message would wait
    /// anyway. Its handling then runs on the overflow runtime (`overflow.rs`).
    fn is_crowded(&self, post: &Post) -> bool {
        self.lanes.is_full(lane(post.guild.map(|g| g.get())))
    }

    async fn on_message(&self, ctx: &Context, post: Post) {
        if !self.first_sight(&post) {
            return;
        }
        let _pass = self.lanes.enter(lane(post.guild.map(|g| g.get()))).await;
        // Boxed: while a burst waits for its lane, each waiting task then holds the post and not
        // also the (several times larger) state of the work below (measured: ~10 MB at 2,000).
        Box::pin(self.on_admitted_message(ctx, post)).await;
    }

    async fn on_admitted_message(&self, ctx: &Context, mut post: Post) {
        let Some(guild) = post.guild else {
            return self.on_direct_message(ctx, &post).await;
        };
        self.learn_channel(ctx, guild.get(), post.channel).await;
        if post.roles.is_none() && !post.author_is_bot && !post.webhook {
            // Messages read back over REST (catch-up) carry no member: ask for the roles.
            post.roles = self.member_roles(ctx, guild, post.author).await;
        }
        self.handle(guild, &post).await;
    }

    /// Reads back what was posted in watched channels while Bedside was down, and handles it as if
    /// it had just arrived. Starts an hour before the last message handled in each channel (so
    /// messages in flight at a crash are not skipped; handling is idempotent by id), and never
    /// further back than `retention.catch_up_hours`.
    pub async fn catch_up(&self, ctx: &Context, guild: GuildId) {
        let now = self.now();
        let floor = snowflake_at(now.saturating_sub(self.live().setup.config.retention.catch_up.as_secs()));
        let channels =
            self.watched_channels().into_iter().find(|(g, _)| *g == guild.get()).map(|(_, c)| c).unwrap_or_default();
        for channel in channels {
            let last = self
                .with_store(|s| s.last_message(channel))
                .inspect_err(|e| tracing::error!(channel, error = %e, "could not read where catch-up stopped"))
                .ok()
                .flatten();
            let mut after =
                last.map(|id| snowflake_at(snowflake_time(id).saturating_sub(3600))).unwrap_or(floor).max(floor);
            let mut read = 0usize;
            loop {
                let request = GetMessages::new().after(MessageId::new(after.max(1))).limit(100);
                let page = match with_retry("read history", || ChannelId::new(channel).messages(&ctx.http, request))
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!(channel, error = %e, "could not read the channel's history; catch-up skipped");
                        break;
                    }
                };
                let full = page.len() >= 100;
                let mut page = page;
                page.sort_by_key(|m| m.id);
                let Some(newest) = page.last().map(|m| m.id.get()) else { break };
                after = newest;
                for mut post in page.into_iter().map(Post::from) {
                    post.guild = Some(guild); // REST history leaves the guild out
                    if !self.first_sight(&post) {
                        continue;
                    }
                    let _pass = self.lanes.enter(guild.get()).await;
                    Box::pin(self.on_admitted_message(ctx, post)).await;
                    read += 1;
                }
                if !full {
                    break;
                }
            }
            if read > 0 {
                tracing::info!(channel, messages = read, "caught up after downtime");
            }
        }
    }

    async fn member_roles(&self, ctx: &Context, guild: GuildId, user: UserId) -> Option<Vec<RoleId>> {
        match with_retry("fetch member", || guild.member(&ctx.http, user)).await {
            Ok(m) => Some(m.roles),
            Err(e) => {
                tracing::warn!(user = user.get(), guild = guild.get(), error = %e, "could not look up a member's roles; their post is checked as staff's, flagged to staff only");
                None
            }
        }
    }

    /// Decides about one guild message and records the decision with its actions.
    pub(crate) async fn handle(&self, guild: GuildId, post: &Post) {
        let handled = self.with_store(|s| s.is_handled(post.id.get())).unwrap_or_else(|e| {
            // Decided anyway: recording the decision claims the id, so it is still acted on once.
            tracing::error!(message_id = post.id.get(), error = %e, "could not read whether a message was handled");
            false
        });
        if handled {
            tracing::debug!(message_id = post.id.get(), "handled before (a replay or a re-read); nothing to do");
            return;
        }
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        let author = self.author(guild.get(), post.author, post.author_is_bot, post.webhook, post.roles.as_deref());
        let incoming = Incoming {
            id: post.id.get(),
            channel: post.channel.get(),
            guild: Some(guild.get()),
            author_id: post.author.get(),
            author,
            system: post.system,
            watched: self.watched(guild.get(), post.channel.get()),
            text: &post.content,
            is_reply: post.is_reply,
            mentions: post.mentions,
            posted_at: post.posted_at,
        };
        if incoming.watched && matches!(author, Author::Staff | Author::Patient) {
            let staff = author == Author::Staff;
            let noted = self.with_store(|s| {
                s.note_post(Some(guild.get()), incoming.channel, incoming.id, staff, incoming.posted_at)
            });
            if let Err(e) = noted {
                tracing::error!(message_id = incoming.id, channel = incoming.channel, error = %e, "could not note channel activity");
            }
        }
        let now = self.now();
        let outcome = match self.decide(incoming, now).await {
            Ok(outcome) => outcome,
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                return tracing::error!(message_id = incoming.id, error = %e, "could not decide about a message");
            }
        };
        // A clean message is only marked handled: it has no actions for the outbox.
        let acts = matches!(outcome, Outcome::Flag(_) | Outcome::Feedback(_));
        // A store error is tried again a few times: the decision is made, and a message whose
        // decision is not recorded is not handled (only a later catch-up would read it again).
        let mut failed = 0;
        let recorded = loop {
            let result = match &outcome {
                Outcome::Flag(flag) => self.record_flag(guild, flag, &post.content, now),
                Outcome::Feedback(feedback) => self.record_feedback(guild, feedback.clone(), now),
                Outcome::Clean => self.with_store(|s| s.mark_handled(incoming.id, incoming.channel, now)),
                Outcome::Skip(_) => Ok(false),
            };
            match result {
                Err(e) if failed < RECORD_RETRIES => {
                    failed += 1;
                    tracing::warn!(message_id = incoming.id, attempt = failed, error = %e, "could not record a decision; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(250 << failed)).await;
                }
                result => break result,
            }
        };
        match recorded {
            Ok(true) if acts => self.wake.recorded(Some(guild.get())),
            Ok(_) => {}
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(message_id = incoming.id, error = %e, "could not record a decision");
            }
        }
    }

    /// [`policy::decide`], on the analysis thread. The cooldown's ledger is read here, before the
    /// job: a store call from the analysis thread, which runs at a lower priority, could be
    /// preempted holding the store's lock, and every handler would wait for it (measured: a 7 ms
    /// hold in the load run's flood).
    async fn decide(&self, incoming: Incoming<'_>, now: u64) -> Result<Outcome, Interrupted> {
        let last = LastAcknowledged {
            author: incoming.author_id,
            channel: incoming.channel,
            at: match incoming.author {
                Author::Patient if incoming.watched => {
                    self.store.last_acknowledged(incoming.author_id, incoming.channel)
                }
                _ => None, // only a patient's feedback is acknowledged
            },
        };
        let (facts, text) = (incoming.with_text(""), incoming.text.to_owned());
        let setup = self.live().setup.clone();
        let config = setup.config.clone();
        self.analyst
            .run(lane(incoming.guild), &setup.detector, move |detector| {
                policy::decide(&config, detector, &facts.with_text(&text), &last, now)
            })
            .await
    }

    /// [`policy::decide_edit`], on the analysis thread.
    async fn decide_edit(&self, incoming: Incoming<'_>, was_flagged: bool) -> Result<EditOutcome, Interrupted> {
        let (facts, text) = (incoming.with_text(""), incoming.text.to_owned());
        let setup = self.live().setup.clone();
        let config = setup.config.clone();
        self.analyst
            .run(lane(incoming.guild), &setup.detector, move |detector| {
                policy::decide_edit(&config, detector, &facts.with_text(&text), was_flagged)
            })
            .await
    }

    /// The answer to a staff draft (`/check`, the context menu, a DM), found on the analysis thread
    /// in `guild`'s turn (`None`: a DM) and counted for `/bedside status`.
    pub async fn check_draft(&self, guild: Option<u64>, text: &str) -> Notice {
        self.counters.checks.fetch_add(1, Ordering::Relaxed);
        let text = text.to_owned();
        let detector = self.live().setup.detector.clone();
        let answer = self
            .analyst
            .run(lane(guild), &detector, move |detector| {
                let analysis = detector.analyze(&Draft::new(&text, Role::Staff));
                notice::check_answer(&text, &analysis, detector)
            })
            .await;
        answer.unwrap_or_else(|_| notice::check_unavailable())
    }

    /// The actions a flag causes: removal if configured, the author's DM, the staff alert. An
    /// author whose roles are unknown may be a patient: the staff alert alone.
    fn flag_actions(&self, guild: GuildId, flag: &Flag, text: &str) -> Vec<Act> {
        let mut acts = Vec::new();
        if flag.remove && !flag.unverified {
            acts.push(Act::Remove { channel: flag.channel, message: flag.message });
        }
        if !flag.unverified {
            acts.push(Act::Dm {
                author: flag.author,
                notice: notice::author_dm(flag, None),
                if_removed: flag.remove.then(|| notice::author_dm(flag, Some(text))),
            });
        }
        match self.alert_channel(guild.get()) {
            Some(channel) => {
                acts.push(Act::Alert { channel, author: flag.author, notice: notice::staff_alert_base(flag) })
            }
            None if self.first_warning(guild.get(), "alert channel") => tracing::warn!(
                guild = guild.get(),
                "no alert channel found; set discord.alert_channel or --alert-channel"
            ),
            None => {}
        }
        acts
    }

    fn record_flag(&self, guild: GuildId, flag: &Flag, text: &str, now: u64) -> Result<bool, StoreError> {
        let actions: Vec<NewAction> = self.flag_actions(guild, flag, text).iter().map(Act::to_new).collect();
        let new = self.with_store(|s| s.record_flag(flag, &actions, now))?;
        if new {
            self.counters.flags.fetch_add(1, Ordering::Relaxed);
            tracing::info!(message_id = flag.message, channel = flag.channel, author = flag.author, rules = %flag.rule_ids().join(","), "flagged a staff message");
        }
        Ok(new)
    }

    /// Records feedback with its actions; `true` if it was new. If the author was answered in the
    /// channel while this message was decided (a burst is decided several at once), it is
    /// recorded without its reply, as the cooldown asks.
    fn record_feedback(&self, guild: GuildId, f: Feedback, now: u64) -> Result<bool, StoreError> {
        let cooldown = self.live().setup.config.acknowledgements.cooldown.as_secs();
        let record = |f: &Feedback| {
            let actions = self.feedback_actions(guild, f);
            self.with_store(|s| s.record_feedback(f, &actions, cooldown, now))
        };
        let (f, recorded) = match record(&f)? {
            FeedbackRecord::ReplyTaken => {
                let f = f.without_reply(NoReply::Cooldown);
                let recorded = record(&f)?;
                (f, recorded)
            }
            recorded => (f, recorded),
        };
        tracing::info!(message_id = f.message, channel = f.channel, kind = %f.kind, reply = f.reply.is_some(), "patient feedback");
        Ok(recorded == FeedbackRecord::Recorded)
    }

    /// The actions feedback causes: the public reply, if any, and the share with staff.
    fn feedback_actions(&self, guild: GuildId, f: &Feedback) -> Vec<NewAction> {
        let mut acts = Vec::new();
        if let Some(text) = &f.reply {
            acts.push(Act::Reply { channel: f.channel, message: f.message, text: text.clone() });
        }
        match self.feedback_channel(guild.get()) {
            Some(channel) => acts.push(Act::Share { channel, notice: notice::feedback_share(f) }),
            None if self.first_warning(guild.get(), "feedback channel") => tracing::warn!(
                guild = guild.get(),
                "no feedback channel found; set discord.feedback_channel or --feedback-channel"
            ),
            None => {}
        }
        acts.iter().map(Act::to_new).collect()
    }

    async fn on_edit(&self, ctx: &Context, event: &MessageUpdateEvent) {
        let (Some(text), Some(guild), Some(user)) = (&event.content, event.guild_id, &event.author) else {
            return; // not a content edit (an embed unfurled, a pin), or not in a server
        };
        let _pass = self.lanes.enter(guild.get()).await;
        Box::pin(self.on_admitted_edit(ctx, event, text, guild, user)).await;
    }

    async fn on_admitted_edit(
        &self,
        ctx: &Context,
        event: &MessageUpdateEvent,
        text: &str,
        guild: GuildId,
        user: &serenity::all::User,
    ) {
        let roles = match event.member.as_ref().and_then(|m| m.as_deref()) {
            Some(m) => Some(m.roles.clone()),
            None => self.member_roles(ctx, guild, user.id).await,
        };
        let webhook = event.webhook_id.is_some_and(|w| w.is_some());
        let incoming = Incoming {
            id: event.id.get(),
            channel: event.channel_id.get(),
            guild: Some(guild.get()),
            author_id: user.id.get(),
            author: self.author(guild.get(), user.id, user.bot, webhook, roles.as_deref()),
            system: event.kind.is_some_and(is_system),
            watched: self.watched(guild.get(), event.channel_id.get()),
            text,
            is_reply: event.message_reference.as_ref().is_some_and(|r| r.is_some()),
            mentions: event.mentions.as_ref().map(Vec::len).unwrap_or_default(),
            posted_at: event.timestamp.map(|t| t.unix_timestamp().max(0) as u64).unwrap_or_else(unix_now),
        };
        let stored = match self.with_store(|s| s.flag(event.id.get())) {
            Ok(stored) => stored,
            Err(e) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                return tracing::error!(message_id = event.id.get(), error = %e, "could not read a flag to re-check an edit");
            }
        };
        let open = stored.filter(|f| f.status == "open");
        let now = self.now();
        let outcome = match self.decide_edit(incoming, open.is_some()).await {
            Ok(outcome) => outcome,
            Err(e) => return tracing::error!(message_id = event.id.get(), error = %e, "could not re-check an edit"),
        };
        let recorded = match outcome {
            EditOutcome::Resolved => {
                if open.is_none() {
                    return;
                }
                tracing::info!(message_id = event.id.get(), "flag resolved by edit");
                let acts = [Act::Resolve { notice: notice::resolved_by_edit(&incoming.link()) }.to_new()];
                self.with_store(|s| {
                    s.set_flag_status(event.id.get(), "resolved_by_edit", now)?;
                    s.enqueue(Some(guild.get()), Some(event.id.get()), &acts, now)
                })
                .map(|()| true)
            }
            EditOutcome::Flag(flag) => {
                // An edit that keeps the problem already alerted needs no second alert; a new
                // problem is flagged (again, by DM and alert).
                if open.is_some_and(|o| o.rules == flag.rule_ids()) {
                    return;
                }
                let actions: Vec<NewAction> = self.flag_actions(guild, &flag, text).iter().map(Act::to_new).collect();
                self.counters.flags.fetch_add(1, Ordering::Relaxed);
                tracing::info!(message_id = flag.message, rules = %flag.rule_ids().join(","), "an edit brought a new problem");
                self.with_store(|s| s.record_reflag(&flag, &actions, now)).map(|()| true)
            }
            EditOutcome::Nothing => Ok(false),
        };
        match recorded {
            Ok(true) => self.wake.recorded(Some(guild.get())),
            Ok(false) => {}
            Err(e) => tracing::error!(message_id = event.id.get(), error = %e, "could not record an edit's outcome"),
        }
    }

    /// A DM to Bedside: staff get their draft checked; anyone else is pointed to the practice.
    async fn on_direct_message(&self, ctx: &Context, post: &Post) {
        if post.author_is_bot || post.content.trim().is_empty() {
            return;
        }
        let guilds: Vec<u64> =
            self.cache.get().map(|c| c.guilds().iter().map(|g| g.get()).collect()).unwrap_or_default();
        let mut staff = false;
        for guild in guilds {
            if let Ok(member) = GuildId::new(guild).member(&ctx.http, post.author).await {
                if self.member_is_staff(guild, &member.roles, None) {
                    staff = true;
                    break;
                }
            }
        }
        let reply = if staff {
            message_for(&self.check_draft(None, &post.content).await)
        } else {
            let live = self.live();
            let practice = &live.setup.config.practice;
            let phone = practice.phone_display.clone().unwrap_or_else(|| "the front desk".into());
            CreateMessage::new().content(format!(
                "Hi! Bedside checks staff drafts and can't help with personal questions here. For anything about your \
                 care, please call {} at {phone}.",
                practice.name
            ))
        };
        if let Err(e) = with_retry("answer dm", || post.channel.send_message(&ctx.http, reply.clone())).await {
            tracing::warn!(channel = post.channel.get(), error = %e, "could not answer a DM");
        }
    }
}

/// The one entry of the cooldown's ledger a decision can ask about, read before it.
struct LastAcknowledged {
    author: u64,
    channel: u64,
    at: Option<u64>,
}

impl AckLedger for LastAcknowledged {
    fn last_acknowledged(&self, author: u64, channel: u64) -> Option<u64> {
        self.at.filter(|_| (author, channel) == (self.author, self.channel))
    }
}

/// Discord's epoch (2015-01-01) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// The smallest snowflake of a second since the Unix epoch.
fn snowflake_at(unix_s: u64) -> u64 {
    (unix_s * 1000).saturating_sub(DISCORD_EPOCH_MS) << 22
}

/// When a snowflake was made, in seconds since the Unix epoch.
fn snowflake_time(id: u64) -> u64 {
    ((id >> 22) + DISCORD_EPOCH_MS) / 1000
}

fn is_thread(c: &GuildChannel) -> bool {
    matches!(c.kind, ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread)
}

/// The lane of a guild's work (in `lanes.rs` and on the analysis thread): the guild, or
/// [`lanes::DIRECT`] for direct messages.
fn lane(guild: Option<u64>) -> u64 {
    guild.unwrap_or(lanes::DIRECT)
}

impl Desk for Bot {
    fn is_staff(&self, guild: Option<GuildId>, member: Option<&Member>) -> bool {
        match (member, guild) {
            (Some(member), Some(guild)) => self.member_is_staff(guild.get(), &member.roles, member.permissions),
            _ => false,
        }
    }

    fn check_draft(&self, guild: Option<u64>, text: &str) -> impl Future<Output = Notice> + Send {
        Bot::check_draft(self, guild, text)
    }

    fn next_tip(&self) -> Option<String> {
        Bot::next_tip(self)
    }

    fn status(&self) -> String {
        Bot::status(self)
    }

    fn reload(&self) -> impl Future<Output = Reloaded> + Send {
        Bot::reload(self)
    }

    fn setup(&self) -> Setup {
        self.live().setup.clone()
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> u64 {
        Bot::now(self)
    }
}

/// serenity's event handler. It keeps what must happen in event order (who Bedside is, which
/// channels a guild has) and hands the rest of each event to a task of its own.
///
/// Why a task of its own: serenity runs a handler inside its dispatch task, whose future is sized
/// for the largest event it could carry. A message waiting for its lane there holds all of that;
/// handed off, the dispatch task ends at once and the waiting task holds only the message
/// (measured in the load run's 2,000-message flood: peak 67 → 53 MB).
pub struct Handler {
    bot: Arc<Bot>,
}

impl Handler {
    pub fn new(bot: Arc<Bot>) -> Handler {
        Handler { bot }
    }

    /// Runs an event's handling in a task of its own: on the overflow runtime when `overflow`
    /// (a crowded guild's message), else on this one.
    fn hand_off<F>(&self, overflow: bool, handling: impl FnOnce(Arc<Bot>) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let task = handling(self.bot.clone());
        if overflow {
            self.bot.overflow.spawn(task);
        } else {
            tokio::spawn(task);
        }
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.bot.me.set(ready.user.id.get());
        tracing::info!(user = ready.user.id.get(), guilds = ready.guilds.len(), "connected to Discord");
    }

    async fn guild_create(&self, ctx: Context, guild: serenity::all::Guild, _is_new: Option<bool>) {
        // serenity's cache has the guild by now (it is updated before handlers run).
        let watched: Vec<u64> =
            guild.channels.keys().map(|c| c.get()).filter(|c| self.bot.watched(guild.id.get(), *c)).collect();
        let guild = guild.id;
        self.hand_off(false, |bot| async move {
            if let Err(e) = guild.set_commands(&ctx.http, commands::definitions()).await {
                tracing::warn!(guild = guild.get(), error = %e, "could not register commands");
            }
            bot.catch_up(&ctx, guild).await;
            tracing::info!(guild = guild.get(), watched = watched.len(), "ready in guild");
        });
    }

    // Creates, renames and role changes need no handler: serenity's cache follows them. Deletes
    // also clear what Bedside learned over REST.
    async fn channel_delete(&self, _ctx: Context, channel: GuildChannel, _messages: Option<Vec<Message>>) {
        self.bot.forget_channel(channel.id.get());
    }

    async fn thread_delete(&self, _ctx: Context, thread: PartialGuildChannel, _full: Option<GuildChannel>) {
        self.bot.forget_channel(thread.id.get());
    }

    async fn message(&self, ctx: Context, msg: Message) {
        // When serenity handed the message over: the load run reads this to tell the gateway's
        // delivery apart from Bedside's handling.
        tracing::debug!(target: "bedside::received", message_id = msg.id.get(), "message received");
        // Reduced to a `Post` here, so the serenity message is freed before the wait for a lane.
        let post = Post::from(msg);
        let overflow = self.bot.is_crowded(&post);
        self.hand_off(overflow, |bot| async move { bot.on_message(&ctx, post).await });
    }

    async fn message_update(
        &self,
        ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        self.hand_off(false, |bot| async move { bot.on_edit(&ctx, &event).await });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        self.hand_off(false, |bot| async move {
            match interaction {
                Interaction::Command(command) => commands::handle(&*bot, &ctx, &command).await,
                Interaction::Component(press) => commands::handle_button(&*bot, &ctx, &press).await,
                _ => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_round_trip_to_the_second() {
        let t = 1_790_000_000;
        assert_eq!(snowflake_time(snowflake_at(t)), t);
        assert!(snowflake_at(t + 1) > snowflake_at(t));
        assert_eq!(snowflake_at(0), 0, "before Discord's epoch");
    }

    #[tokio::test]
    async fn a_missing_channel_is_warned_about_once_per_guild() {
        let setup = Setup::load(None).expect("embedded config");
        let store = Arc::new(Store::open_in_memory().expect("store"));
        let clock = super::super::clock::system_clock();
        let bot = Bot::new(setup, Overrides::default(), store, clock, Handle::current()).expect("bot");
        assert!(bot.first_warning(1, "feedback channel"));
        assert!(!bot.first_warning(1, "feedback channel"), "not again for the next message");
        assert!(bot.first_warning(1, "alert channel"), "another channel is another warning");
        assert!(bot.first_warning(2, "feedback channel"), "and so is another guild");
    }

    #[test]
    fn seen_ids_are_remembered_once_and_forgotten_oldest_first() {
        let mut seen = Seen::default();
        assert!(seen.insert(1));
        assert!(!seen.insert(1));
        for id in 2..=(SEEN_CAPACITY as u64 + 1) {
            seen.insert(id);
        }
        assert!(seen.insert(1), "the oldest id was forgotten");
    }
}
