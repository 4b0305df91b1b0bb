//! A scripted fake Discord (REST + WebSocket gateway on 127.0.0.1 ephemeral ports) that an
//! unmodified serenity 0.12 client connects to, so end-to-end tests need no token and no
//! internet.
//!
//! ```ignore
//! let fake = FakeDiscord::start().await;
//! let http = HttpBuilder::new(fake.token()).proxy(fake.api_base()).ratelimiter_disabled(true).build();
//! let mut client = ClientBuilder::new_with_http(http, intents).event_handler(handler).await?;
//! tokio::spawn(async move { client.start().await });
//! fake.wait_ready(Duration::from_secs(5)).await?;
//! fake.post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "hello")).await?;
//! let req = fake.wait_for_request(|r| r.matches("POST", "/channels/*/messages"), secs(5)).await?;
//! ```
//!
//! Modules: `fixtures` (the invented world + payload builders + specs), `state` (shared state,
//! recorded requests, scripted answers), `rest` (REST routes), `gateway` (HELLO/IDENTIFY/READY/
//! RESUME and dispatching), `validate` (serenity-type checks of everything sent).
//!
//! Every payload is checked with serenity's own types before it is sent; every wait takes a
//! timeout and returns `Result`.
//!
//! Behaves like Discord where bots commonly trip (each can be switched off):
//! - the bot's own REST-created messages come back as MESSAGE_CREATE/UPDATE/DELETE
//!   (`set_echo_own_messages`), so handlers must ignore their own messages;
//! - intents are applied: events the bot did not subscribe to are not delivered
//!   (`Err(FakeError::Filtered)`), guild messages lose `content`/embeds/attachments/components
//!   without MESSAGE_CONTENT unless the bot is mentioned (`set_enforce_intents`);
//! - messages fetched over REST carry no `guild_id` and no `member` (only gateway events do);
//! - an interaction must get its first response within 3 s, and only once (10062 / 40060;
//!   `set_interaction_ack_deadline`);
//! - a create-message with `enforce_nonce: true` and a nonce the bot already sent in that channel
//!   returns the message that nonce made (200, same id) and creates none, so a send repeated after
//!   a lost answer or a restart posts once (Discord keeps a nonce a few minutes; the fake, for
//!   its whole life; a deleted message frees its nonce);
//! - a wrong token gets 401 on REST and close code 4004 on the gateway;
//! - each shard has its own session, and a guild's events go on its shard's connection
//!   (`(guild_id >> 22) % shards`, shard 0 without a guild); `GET /gateway/bot` recommends
//!   `set_recommended_shards` (default 1).

pub mod fixtures;
pub mod gateway;
pub mod rest;
pub mod state;
pub mod validate;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use serenity::model::gateway::GatewayIntents;
use serenity::model::id::{InteractionId, MessageId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use self::fixtures::*;
use self::gateway::{DispatchOutcome, dispatch_locked};
use self::state::{InteractionRecord, Outgoing, ScriptEntry, Shared, State};
pub use self::state::{RecordedRequest, Scripted};

/// What went wrong in a fake operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FakeError {
    /// A wait ran out of time; says what was awaited.
    Timeout(String),
    /// A payload serenity would not deserialize (so it was not sent), or the fake itself
    /// produced something invalid (see `problems()`).
    Invalid(String),
    /// No gateway session yet.
    NotConnected(String),
    /// Unknown channel, message, user, guild, ...
    NotFound(String),
    /// Valid, but Discord would not deliver it with the intents the bot identified with.
    Filtered(String),
    /// The fake was shut down.
    Shutdown,
}

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FakeError::Timeout(s) => write!(f, "fake discord: timed out waiting for {s}"),
            FakeError::Invalid(s) => write!(f, "fake discord: invalid payload: {s}"),
            FakeError::NotConnected(s) => write!(f, "fake discord: not connected: {s}"),
            FakeError::NotFound(s) => write!(f, "fake discord: not found: {s}"),
            FakeError::Filtered(s) => write!(f, "fake discord: not delivered: {s}"),
            FakeError::Shutdown => write!(f, "fake discord: shut down"),
        }
    }
}

impl std::error::Error for FakeError {}

/// The fake server. Cheap to clone (shared state); stop it with [`FakeDiscord::shutdown`].
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

pub fn base64_no_pad(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token in Discord's shape: base64(bot id) . timestamp part . hmac part.
pub fn fake_token(bot_id: u64) -> String {
    format!(
        "{}.{}.{}",
        base64_no_pad(bot_id.to_string().as_bytes()),
        base64_no_pad(b"fake!"),
        base64_no_pad(b"fake-discord-test-token-not-real")
    )
}

impl FakeDiscord {
    /// Start with the default fixture ([`GuildFixture::maple_grove`]).
    pub async fn start() -> FakeDiscord {
        Self::start_with(GuildFixture::maple_grove()).await
    }

    /// Start with a custom world.
    pub async fn start_with(fixture: GuildFixture) -> FakeDiscord {
        let rest_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake REST port");
        let gw_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake gateway port");
        let api_base = format!("http://{}", rest_listener.local_addr().expect("addr"));
        let gateway_url = format!("ws://{}", gw_listener.local_addr().expect("addr"));
        let token = fake_token(fixture.bot.id);
        let shared = Arc::new(Shared::new(fixture, token, api_base, gateway_url));
        let tasks = vec![rest::serve(rest_listener, shared.clone()), gateway::serve(gw_listener, shared.clone())];
        FakeDiscord { shared, tasks: Arc::new(Mutex::new(tasks)) }
    }

    /// For `HttpBuilder::proxy` / `BEDSIDE_DISCORD_API`, e.g. `http://127.0.0.1:41234`.
    pub fn api_base(&self) -> String {
        self.shared.api_base.clone()
    }

    /// The gateway URL `GET /gateway` answers, e.g. `ws://127.0.0.1:41235`.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url.clone()
    }

    /// A syntactically valid fake bot token (passes `serenity::utils::validate_token`); REST
    /// answers 401 and the gateway closes with 4004 for any other token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The world the fake serves.
    pub fn fixture(&self) -> &GuildFixture {
        &self.shared.world
    }

    /// An `Http` built the way Bedside builds it (proxy to the fake, ratelimiter disabled).
    pub fn http(&self) -> serenity::http::Http {
        serenity::http::HttpBuilder::new(self.token()).proxy(self.api_base()).ratelimiter_disabled(true).build()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Wait until every shard IDENTIFYed and its READY plus every GUILD_CREATE were written to
    /// its socket (serenity starts shards 5 s apart: give a sharded bot the time). Fails early if
    /// the fake recorded a problem (e.g. invalid READY, bad token).
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), FakeError> {
        self.shared
            .wait_until("IDENTIFY + READY + GUILD_CREATE", timeout, |st| {
                if !st.problems.is_empty() {
                    return Some(Err(FakeError::Invalid(st.problems.join("; "))));
                }
                st.gateway.ready().then_some(Ok(()))
            })
            .await?
    }

    fn finish(&self, outcome: Result<DispatchOutcome, FakeError>) -> Result<u64, FakeError> {
        self.shared.notify();
        match outcome? {
            DispatchOutcome::Sent(seq) => Ok(seq),
            DispatchOutcome::Filtered(why) => Err(FakeError::Filtered(why)),
        }
    }

    /// Validate `data` as the `d` of event `event` with serenity's types, assign the next
    /// sequence number and send it (buffered for RESUME while disconnected). Returns the seq.
    pub async fn dispatch(&self, event: &str, data: Value) -> Result<u64, FakeError> {
        let outcome = {
            let mut st = self.lock();
            dispatch_locked(&self.shared, &mut st, event, data, true)
        };
        self.finish(outcome)
    }

    /// Like [`dispatch`](Self::dispatch) without validation (serenity will drop or mis-handle
    /// what it cannot parse — that is the point).
    pub async fn dispatch_unchecked(&self, event: &str, data: Value) -> Result<u64, FakeError> {
        let outcome = {
            let mut st = self.lock();
            dispatch_locked(&self.shared, &mut st, event, data, false)
        };
        self.finish(outcome)
    }

    /// Sends `text` exactly as given, as a gateway frame on the shard that carries `guild`: no
    /// validation and no sequence number (for frames serenity cannot even read as an envelope).
    pub fn send_raw_frame(&self, guild: Option<u64>, text: String) -> Result<(), FakeError> {
        let st = self.lock();
        let shard = st.gateway.shard_of(guild);
        match st.gateway.sessions.get(shard).and_then(|s| s.conn.as_ref()) {
            Some(conn) => {
                let _ = conn.tx.send(Outgoing::Frame { text, seq: None });
                Ok(())
            }
            None => Err(FakeError::NotConnected(format!("shard {shard} has no gateway connection"))),
        }
    }

    fn resolve_place(&self, st: &State, channel_id: u64, guild_id: Option<u64>) -> Result<Place, FakeError> {
        match guild_id {
            Some(g) if self.shared.world.guild(g).is_none() => {
                Err(FakeError::NotFound(format!("guild {g} is not in the fixture")))
            }
            Some(g) => Ok(Place { channel_id, guild_id: Some(g) }),
            None => match st.channel_place(&self.shared.world, channel_id) {
                Some(guild_id) => Ok(Place { channel_id, guild_id }),
                None => Err(FakeError::NotFound(format!(
                    "channel {channel_id} is neither a fixture channel nor a DM channel (see dm_channel)"
                ))),
            },
        }
    }

    fn member_roles(
        &self,
        place: &Place,
        user_id: u64,
        explicit: Option<&Vec<u64>>,
    ) -> Result<Option<Vec<u64>>, FakeError> {
        let Some(g) = place.guild_id.and_then(|g| self.shared.world.guild(g)) else {
            return Ok(None);
        };
        if let Some(r) = explicit {
            return Ok(Some(r.clone()));
        }
        match g.member(user_id) {
            Some(m) => Ok(Some(m.roles.clone())),
            None => Err(FakeError::NotFound(format!(
                "user {user_id} is not a member of guild {}; give explicit roles",
                g.id
            ))),
        }
    }

    fn build_message(&self, st: &mut State, spec: &MessageSpec) -> Result<(u64, Value), FakeError> {
        let place = self.resolve_place(st, spec.channel_id, spec.guild_id)?;
        let roles = if spec.webhook_id.is_some() {
            None
        } else {
            self.member_roles(&place, spec.author.id, spec.member_roles.as_ref())?
        };
        let id = spec.id.unwrap_or_else(|| st.next_snowflake());
        let referenced = spec.reply_to.and_then(|r| st.find_message(r).map(fixtures::rest_message));
        let msg = fixtures::message_json(&self.shared.world, spec, id, &place, roles.as_deref(), referenced.as_ref());
        Ok((id, msg))
    }

    /// A user posts a message: MESSAGE_CREATE, and it is stored for `GET .../messages`.
    /// With `MessageSpec::new` the guild comes from the fixture channel (a `dm_channel` gives a
    /// DM) and the member roles from the fixture member. `Err(Filtered)` when the bot's
    /// intents exclude it (the message stays stored, as on Discord).
    pub async fn post_message(&self, spec: MessageSpec) -> Result<MessageId, FakeError> {
        let outcome = {
            let mut st = self.lock();
            let (id, msg) = self.build_message(&mut st, &spec)?;
            st.store_message(spec.channel_id, id, msg.clone());
            let outcome = dispatch_locked(&self.shared, &mut st, "MESSAGE_CREATE", msg, true);
            if outcome.is_err() {
                if let Some(c) = st.messages.get_mut(&spec.channel_id) {
                    c.remove(&id);
                }
            }
            outcome.map(|o| (o, id))
        };
        let (o, id) = outcome?;
        self.finish(Ok(o))?;
        Ok(MessageId::new(id))
    }

    /// Store messages as if they were posted while the bot was down (no dispatch). Ids come
    /// from the snowflake counter (so they are newer than anything before) unless set.
    pub fn seed_history(&self, channel_id: u64, specs: Vec<MessageSpec>) -> Result<Vec<MessageId>, FakeError> {
        let mut st = self.lock();
        let mut ids = vec![];
        for mut spec in specs {
            spec.channel_id = channel_id;
            let (id, msg) = self.build_message(&mut st, &spec)?;
            validate::check_rest::<serenity::model::channel::Message>(&msg).map_err(FakeError::Invalid)?;
            st.store_message(channel_id, id, msg);
            ids.push(MessageId::new(id));
        }
        drop(st);
        self.shared.notify();
        Ok(ids)
    }

    /// A user edits a stored message: MESSAGE_UPDATE with the full edited message.
    pub async fn edit_message(
        &self,
        channel_id: u64,
        message_id: MessageId,
        new_content: &str,
    ) -> Result<(), FakeError> {
        let outcome = {
            let mut st = self.lock();
            let mid = message_id.get();
            let Some(mut msg) = st.messages.get(&channel_id).and_then(|c| c.get(&mid)).cloned() else {
                return Err(FakeError::NotFound(format!("message {mid} in channel {channel_id}")));
            };
            msg["content"] = json!(new_content);
            msg["edited_timestamp"] = json!(fixtures::now_timestamp());
            st.store_message(channel_id, mid, msg.clone());
            dispatch_locked(&self.shared, &mut st, "MESSAGE_UPDATE", msg, true)
        };
        self.finish(outcome).map(|_| ())
    }

    /// A user (or moderator) deletes a stored message: MESSAGE_DELETE.
    pub async fn delete_message(&self, channel_id: u64, message_id: MessageId) -> Result<(), FakeError> {
        let outcome = {
            let mut st = self.lock();
            let mid = message_id.get();
            let Some(msg) = st.messages.get_mut(&channel_id).and_then(|c| c.remove(&mid)) else {
                return Err(FakeError::NotFound(format!("message {mid} in channel {channel_id}")));
            };
            let d = json!({"id": sid(mid), "channel_id": sid(channel_id), "guild_id": msg.get("guild_id")});
            dispatch_locked(&self.shared, &mut st, "MESSAGE_DELETE", d, true)
        };
        self.finish(outcome).map(|_| ())
    }

    fn command_id(&self, st: &mut State, place: &Place, name: &str, kind: u8) -> u64 {
        let matches = |c: &&Value| {
            c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("type").and_then(Value::as_u64).unwrap_or(1) == u64::from(kind)
        };
        let guild_cmds = place.guild_id.and_then(|g| st.guild_commands.get(&g));
        let found = guild_cmds
            .and_then(|l| l.iter().find(matches))
            .or_else(|| st.global_commands.iter().find(matches))
            .and_then(|c| c.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok()));
        found.unwrap_or_else(|| st.next_snowflake())
    }

    fn send_interaction(
        &self,
        st: &mut State,
        payload: Value,
        record: InteractionRecord,
    ) -> Result<DispatchOutcome, FakeError> {
        let token = interaction_token_for(record.id);
        st.interactions.insert(token.clone(), record);
        let outcome = dispatch_locked(&self.shared, st, "INTERACTION_CREATE", payload, true);
        if outcome.is_err() {
            st.interactions.remove(&token);
        }
        outcome
    }

    fn record(id: u64, kind: u8, command_type: u8, place: &Place, message_id: Option<u64>) -> InteractionRecord {
        InteractionRecord {
            id,
            kind,
            command_type,
            channel_id: place.channel_id,
            guild_id: place.guild_id,
            message_id,
            acknowledged: false,
            original_id: None,
            original: None,
            created: std::time::Instant::now(),
        }
    }

    /// A user runs a slash command: INTERACTION_CREATE type 2 with data.type 1 and `options`
    /// (user/role/channel options get `resolved` entries from the fixture). The command id is
    /// the one the bot registered under that name, if any.
    pub async fn slash_command(&self, spec: SlashSpec) -> Result<InteractionId, FakeError> {
        let (outcome, id) = {
            let mut st = self.lock();
            let place = self.resolve_place(&st, spec.channel_id, spec.guild_id)?;
            let roles = self.member_roles(&place, spec.user_id, None)?;
            let id = st.next_snowflake();
            let command_id = spec.command_id.unwrap_or_else(|| self.command_id(&mut st, &place, &spec.name, 1));
            let payload = fixtures::slash_command_json(
                &self.shared.world,
                id,
                command_id,
                &place,
                spec.user_id,
                roles.as_deref(),
                &spec.name,
                &spec.options,
            );
            (self.send_interaction(&mut st, payload, Self::record(id, 2, 1, &place, None)), id)
        };
        self.finish(outcome)?;
        Ok(InteractionId::new(id))
    }

    /// A user runs a message context-menu command on a stored message: INTERACTION_CREATE
    /// type 2 with data.type 3, `target_id` and `resolved.messages`.
    pub async fn message_command(&self, spec: MessageCommandSpec) -> Result<InteractionId, FakeError> {
        let (outcome, id) = {
            let mut st = self.lock();
            let place = self.resolve_place(&st, spec.channel_id, spec.guild_id)?;
            let roles = self.member_roles(&place, spec.user_id, None)?;
            let target = st
                .find_message(spec.target_message_id)
                .map(fixtures::rest_message)
                .ok_or_else(|| FakeError::NotFound(format!("target message {}", spec.target_message_id)))?;
            let id = st.next_snowflake();
            let command_id = spec.command_id.unwrap_or_else(|| self.command_id(&mut st, &place, &spec.name, 3));
            let payload = fixtures::message_command_json(
                &self.shared.world,
                id,
                command_id,
                &place,
                spec.user_id,
                roles.as_deref(),
                &spec.name,
                &target,
            );
            (self.send_interaction(&mut st, payload, Self::record(id, 2, 3, &place, None)), id)
        };
        self.finish(outcome)?;
        Ok(InteractionId::new(id))
    }

    /// A user clicks a button: INTERACTION_CREATE type 3 with `data.custom_id` and the message
    /// carrying the button.
    pub async fn button_click(&self, spec: ButtonSpec) -> Result<InteractionId, FakeError> {
        let (outcome, id) = {
            let mut st = self.lock();
            let place = self.resolve_place(&st, spec.channel_id, spec.guild_id)?;
            let roles = self.member_roles(&place, spec.user_id, None)?;
            let needle = format!("\"custom_id\":{}", json!(spec.custom_id));
            let channel = st.messages.get(&spec.channel_id);
            let message = match spec.message_id {
                Some(m) => channel.and_then(|c| c.get(&m)).cloned(),
                None => channel.and_then(|c| {
                    c.values()
                        .rev()
                        .find(|m| m.get("components").is_some_and(|c| c.to_string().contains(&needle)))
                        .cloned()
                }),
            }
            .ok_or_else(|| {
                FakeError::NotFound(format!(
                    "no stored message in channel {} with a component {:?}",
                    spec.channel_id, spec.custom_id
                ))
            })?;
            let message_id = message.get("id").and_then(Value::as_str).and_then(|s| s.parse().ok());
            let id = st.next_snowflake();
            let payload = fixtures::button_click_json(
                &self.shared.world,
                id,
                &place,
                spec.user_id,
                roles.as_deref(),
                &spec.custom_id,
                &fixtures::rest_message(&message),
            );
            (self.send_interaction(&mut st, payload, Self::record(id, 3, 0, &place, message_id)), id)
        };
        self.finish(outcome)?;
        Ok(InteractionId::new(id))
    }

    /// The token of an interaction the fake created (it appears in callback/webhook paths).
    pub fn interaction_token(&self, id: InteractionId) -> String {
        interaction_token_for(id.get())
    }

    /// The DM channel between the bot and `user_id` (the one `POST /users/@me/channels`
    /// returns); created on first use.
    pub fn dm_channel(&self, user_id: u64) -> u64 {
        let id = rest::dm_channel_for(&mut self.lock(), user_id);
        self.shared.notify();
        id
    }

    /// Stored messages of a channel, oldest first, in REST shape (what the bot could fetch).
    pub fn channel_messages(&self, channel_id: u64) -> Vec<Value> {
        self.lock()
            .messages
            .get(&channel_id)
            .map(|c| c.values().map(fixtures::rest_message).collect())
            .unwrap_or_default()
    }

    /// Every REST call so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The first request matching `pred` that has been answered (already, or within
    /// `timeout`), so `status` is set and any echo it caused was dispatched.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Result<RecordedRequest, FakeError> {
        self.shared
            .wait_until("a matching, answered REST request", timeout, |st| {
                st.requests.iter().find(|r| r.status.is_some() && pred(r)).cloned()
            })
            .await
    }

    /// Like [`wait_for_request`](Self::wait_for_request) but returns as soon as the request
    /// arrived (`status` may still be `None`, e.g. while a `Scripted::delay` runs).
    pub async fn wait_for_request_received(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        timeout: Duration,
    ) -> Result<RecordedRequest, FakeError> {
        self.shared
            .wait_until("a matching REST request", timeout, |st| st.requests.iter().find(|r| pred(r)).cloned())
            .await
    }

    /// Wait until at least `n` answered requests match; returns the first `n`.
    pub async fn wait_for_requests(
        &self,
        pred: impl Fn(&RecordedRequest) -> bool,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>, FakeError> {
        self.shared
            .wait_until(&format!("{n} matching REST requests"), timeout, |st| {
                let v: Vec<_> = st.requests.iter().filter(|r| r.status.is_some() && pred(r)).take(n).cloned().collect();
                (v.len() == n).then_some(v)
            })
            .await
    }

    /// Queue scripted answers for `method` (or `*`) and a path glob (`*` one segment, `**`
    /// any; `/api/v10` optional). Consumed in order by matching requests, then the default
    /// routes answer again. Earlier `script` calls take precedence while they have answers.
    pub fn script(&self, method: &str, path_glob: &str, responses: Vec<Scripted>) {
        self.lock().scripts.push(ScriptEntry {
            method: method.to_ascii_uppercase(),
            glob: path_glob.to_string(),
            queue: responses.into(),
        });
    }

    /// Queue `out()` on every shard's connection; `forget` detaches them from their sessions.
    fn send_to_conn(&self, out: impl Fn() -> Outgoing, forget: bool) -> bool {
        let mut st = self.lock();
        let mut sent = false;
        for session in &mut st.gateway.sessions {
            sent |= session.conn.as_ref().is_some_and(|c| c.tx.send(out()).is_ok());
            if forget {
                session.conn = None;
            }
        }
        sent
    }

    /// Drop the gateway TCP connection without a close frame. Serenity reconnects and RESUMEs;
    /// dispatches made meanwhile are buffered and replayed on RESUME.
    pub async fn drop_gateway(&self) {
        self.send_to_conn(|| Outgoing::Drop, true);
        self.shared.notify();
    }

    /// Close the gateway with a close frame (`4000` = resumable unknown error; serenity
    /// re-identifies after `4007`/`4009` and gives up on `4004`, `4010`-`4014`).
    pub async fn close_gateway(&self, code: u16) {
        self.send_to_conn(|| Outgoing::Close { code, reason: "fake close".into() }, true);
        self.shared.notify();
    }

    /// Send op 7 RECONNECT (serenity then reconnects and RESUMEs).
    pub async fn request_reconnect(&self) {
        let text = json!({"op": 7, "d": null, "s": null, "t": null}).to_string();
        self.send_to_conn(|| Outgoing::Frame { text: text.clone(), seq: None }, false);
    }

    /// Send op 9 INVALID_SESSION. `resumable = false` makes serenity re-IDENTIFY (its shard
    /// queuer waits up to 5 s between IDENTIFYs — keep timeouts generous).
    pub async fn invalidate_session(&self, resumable: bool) {
        let text = json!({"op": 9, "d": resumable, "s": null, "t": null}).to_string();
        self.send_to_conn(|| Outgoing::Frame { text: text.clone(), seq: None }, false);
    }

    pub fn identify_count(&self) -> usize {
        self.lock().gateway.identify_count
    }

    pub fn resume_count(&self) -> usize {
        self.lock().gateway.resume_count
    }

    /// Dispatches sequenced but not yet written to a socket (the writer waits on a full one), over
    /// every shard.
    pub fn unwritten_dispatches(&self) -> u64 {
        self.lock().gateway.sessions.iter().map(|s| s.seq.saturating_sub(s.written_seq)).sum()
    }

    /// Wait until no gateway connection is open.
    pub async fn wait_disconnected(&self, timeout: Duration) -> Result<(), FakeError> {
        self.shared
            .wait_until("gateway disconnected", timeout, |st| {
                st.gateway.sessions.iter().all(|s| s.conn.is_none()).then_some(())
            })
            .await
    }

    /// Number of WebSocket connections accepted so far.
    pub fn connection_count(&self) -> usize {
        self.lock().gateway.connections
    }

    /// Wait until `count` RESUMEs happened (over every shard) and each resumed shard's last RESUMED
    /// was written to its socket.
    pub async fn wait_resumed(&self, count: usize, timeout: Duration) -> Result<(), FakeError> {
        self.shared
            .wait_until(&format!("RESUME #{count}"), timeout, |st| {
                let g = &st.gateway;
                let mut resumed = g.sessions.iter().filter_map(|s| Some((s, s.resumed_seq?)));
                (g.resume_count >= count
                    && g.sessions.iter().any(|s| s.resumed_seq.is_some())
                    && resumed.all(|(s, r)| s.conn.is_some() && s.written_seq >= r))
                .then_some(())
            })
            .await
    }

    /// On the next RESUME, replay from `from_seq` even if the client already has those
    /// dispatches (Discord can re-deliver); `None` = only what the client missed.
    pub fn set_replay_on_resume(&self, from_seq: Option<u64>) {
        self.lock().gateway.replay_on_resume = from_seq;
    }

    /// Echo the bot's own REST-created messages back as MESSAGE_CREATE/UPDATE/DELETE, as
    /// Discord does (default: true).
    pub fn set_echo_own_messages(&self, echo: bool) {
        self.lock().echo_own_messages = echo;
    }

    /// Discord's deadline for the first interaction response (default 3 s; a later callback
    /// gets 404 code 10062 "Unknown interaction"). `None` disables it.
    pub fn set_interaction_ack_deadline(&self, deadline: Option<Duration>) {
        self.lock().interaction_ack_deadline = deadline;
    }

    /// Apply intents like Discord (default: true): refuse events the bot did not subscribe to
    /// and blank `content`/embeds/attachments/components of guild messages without
    /// MESSAGE_CONTENT (unless the bot is mentioned or the author).
    pub fn set_enforce_intents(&self, enforce: bool) {
        self.lock().enforce_intents = enforce;
    }

    /// Heartbeat interval announced in the next HELLO (default 1 s).
    pub fn set_heartbeat_interval(&self, interval: Duration) {
        self.lock().gateway.heartbeat_interval_ms = interval.as_millis() as u64;
    }

    /// Shards `GET /gateway/bot` recommends (default 1): what `start_autosharded` opens.
    pub fn set_recommended_shards(&self, shards: u32) {
        self.lock().gateway.recommended_shards = shards;
    }

    /// Intents of shard 0's IDENTIFY.
    pub fn intents(&self) -> Option<GatewayIntents> {
        self.lock().gateway.sessions.first()?.intents.map(GatewayIntents::from_bits_truncate)
    }

    /// Last sequence number assigned in shard 0's current session.
    pub fn last_seq(&self) -> u64 {
        self.lock().gateway.sessions.first().map_or(0, |s| s.seq)
    }

    /// Dispatches sequenced on every shard since the fake started (a re-IDENTIFY does not reset
    /// it).
    pub fn dispatched(&self) -> u64 {
        self.lock().gateway.dispatched
    }

    /// The `[id, count]` of every IDENTIFY, in order.
    pub fn identified_shards(&self) -> Vec<[u64; 2]> {
        let st = self.lock();
        let identifies = st.gateway.received.iter().filter(|f| f.get("op").and_then(Value::as_u64) == Some(2));
        identifies
            .filter_map(|f| match f.pointer("/d/shard")?.as_array()?.as_slice() {
                [id, count] => Some([id.as_u64()?, count.as_u64()?]),
                _ => None,
            })
            .collect()
    }

    /// The shard that carries a guild's dispatches (shard 0 for direct messages).
    pub fn shard_of(&self, guild_id: Option<u64>) -> usize {
        self.lock().gateway.shard_of(guild_id)
    }

    /// Every frame received from the client (IDENTIFY, RESUME, heartbeats, ...).
    pub fn gateway_frames_received(&self) -> Vec<Value> {
        self.lock().gateway.received.clone()
    }

    /// Heartbeats received.
    pub fn heartbeat_count(&self) -> usize {
        self.lock().gateway.heartbeats
    }

    /// When each heartbeat (op 1) arrived: read off the socket by the gateway's reader, which
    /// runs apart from its writer, so a writer waiting on a full socket does not delay this.
    pub fn heartbeat_times(&self) -> Vec<Instant> {
        self.lock().gateway.heartbeat_at.iter().map(|(_, at)| *at).collect()
    }

    /// [`heartbeat_times`](Self::heartbeat_times) of one shard's connections.
    pub fn heartbeat_times_of(&self, shard: usize) -> Vec<Instant> {
        let st = self.lock();
        st.gateway.heartbeat_at.iter().filter(|(s, _)| *s == shard).map(|(_, at)| *at).collect()
    }

    /// Wait until `n` heartbeats (op 1) were received (each is ACKed at once).
    pub async fn wait_for_heartbeats(&self, n: usize, timeout: Duration) -> Result<(), FakeError> {
        self.shared
            .wait_until(&format!("{n} heartbeats"), timeout, |st| (st.gateway.heartbeats >= n).then_some(()))
            .await
    }

    /// Things the fake found wrong with itself or the client (invalid payload it built, wrong
    /// token, call outside /api/v10, ...). A healthy test ends with this empty.
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }

    /// Stop serving: drop the gateway connection and stop both listeners.
    pub async fn shutdown(self) {
        self.send_to_conn(|| Outgoing::Drop, true);
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}
