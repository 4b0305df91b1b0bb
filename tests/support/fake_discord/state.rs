//! The fake's shared mutable state (stored messages, commands, interactions, gateway session,
//! recorded REST requests, scripted overrides) behind one `std::sync::Mutex`, plus the change
//! counter every `wait_*` helper sleeps on, so waits wake on change and never poll or hang.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::FakeError;
use super::fixtures::{GuildFixture, snowflake_now};

/// One REST call the fake received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Position in `FakeDiscord::requests()` (0-based, in arrival order).
    pub index: usize,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path without the `/api/v10` prefix, e.g. `/channels/123/messages`.
    pub path: String,
    /// Raw query string without `?` (serenity sends `&after=1&limit=50`), empty if none.
    pub query: String,
    /// JSON body; for multipart requests the `payload_json` part. `None` without a body.
    pub body: Option<Value>,
    /// File names of multipart attachments.
    pub files: Vec<String>,
    /// Request headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Status the fake answered with (`None` while the answer is still pending, e.g. delayed).
    pub status: Option<u16>,
    /// When the fake's handler took the request (its body read), before it waited for the fake's
    /// state lock.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// Exact method and path (`"POST", "/channels/1/messages"`).
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.path == path
    }
    /// Method (or `*`) and a glob (`*` = one path segment, `**` = any number).
    pub fn matches(&self, method: &str, path_glob: &str) -> bool {
        (method == "*" || self.method.eq_ignore_ascii_case(method)) && glob_match(path_glob, &self.path)
    }
    /// First value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_pairs(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// `body[key]` shortcut.
    pub fn json_field(&self, key: &str) -> Option<&Value> {
        self.body.as_ref().and_then(|b| b.get(key))
    }
}

/// Split a raw query string into decoded pairs (tolerates serenity's leading `&`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `*` matches one segment, `**` any number of segments (also zero).
pub fn glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[&str], p: &[&str]) -> bool {
        match (g.first(), p.first()) {
            (None, None) => true,
            (Some(&"**"), _) => go(&g[1..], p) || (!p.is_empty() && go(g, &p[1..])),
            (Some(gs), Some(ps)) => (*gs == "*" || gs == ps) && go(&g[1..], &p[1..]),
            _ => false,
        }
    }
    let g: Vec<&str> = strip_api_prefix(glob).split('/').filter(|s| !s.is_empty()).collect();
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    go(&g, &p)
}

/// `/api/v10/x` → `/x` (other paths unchanged).
pub fn strip_api_prefix(path: &str) -> &str {
    path.strip_prefix("/api/v10").unwrap_or(path)
}

/// A scripted REST answer, consumed once (see `FakeDiscord::script`).
#[derive(Clone, Debug)]
pub struct Scripted {
    /// `None`: answer as the default route would (after `delay`).
    pub status: Option<u16>,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    pub delay: Option<Duration>,
}

impl Scripted {
    /// Answer with this status. Error statuses without `.json(..)` get Discord's generic body
    /// `{"message": "...", "code": 0}`; a 2xx without a body runs the default route but
    /// answers with this status. A 429 gets the rate-limit headers Discord sends
    /// (`Retry-After`, `X-RateLimit-*`), computed from the body's `retry_after`/`global`.
    pub fn status(status: u16) -> Self {
        Scripted { status: Some(status), body: None, headers: vec![], delay: None }
    }
    /// The JSON body to answer with.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    /// An extra response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    /// Wait, then answer as the default route would: a slow call.
    pub fn delay(delay: Duration) -> Self {
        Scripted { status: None, body: None, headers: vec![], delay: Some(delay) }
    }
    /// Wait before sending this answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
    /// A Discord JSON error: `{"message": message, "code": code}` with this HTTP status.
    pub fn discord_error(status: u16, code: i64, message: &str) -> Self {
        Scripted::status(status).json(serde_json::json!({"message": message, "code": code}))
    }
    /// A 429 exactly as Discord sends it for a per-route limit.
    pub fn rate_limited(retry_after_secs: f64) -> Self {
        Scripted::status(429).json(serde_json::json!({
            "message": "You are being rate limited.",
            "retry_after": retry_after_secs,
            "global": false,
        }))
    }
    /// Let the default route answer (useful as a queue element).
    pub fn passthrough() -> Self {
        Scripted { status: None, body: None, headers: vec![], delay: None }
    }
}

pub struct ScriptEntry {
    pub method: String,
    pub glob: String,
    pub queue: VecDeque<Scripted>,
}

/// A frame queued for one gateway connection.
#[derive(Debug)]
pub enum Outgoing {
    /// A text frame; `seq` is set for dispatches.
    Frame { text: String, seq: Option<u64> },
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Send a close frame with this code, then close.
    Close { code: u16, reason: String },
}

pub struct Conn {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Outgoing>,
}

/// One shard's session: started by IDENTIFY, continued by RESUME.
#[derive(Default)]
pub struct Session {
    pub session_id: Option<String>,
    /// Last sequence number assigned in this session.
    pub seq: u64,
    /// Every dispatch of this session: (seq, frame text). Used to replay on RESUME.
    pub log: Vec<(u64, String)>,
    /// The connection that receives this shard's dispatches (identified or resumed), if any.
    pub conn: Option<Conn>,
    /// Seq of the last GUILD_CREATE after READY (session fully set up once written).
    pub ready_seq: Option<u64>,
    /// Seq of the RESUMED of the last resume.
    pub resumed_seq: Option<u64>,
    /// Highest dispatch seq written to a socket in this session.
    pub written_seq: u64,
    /// Intents of the IDENTIFY that started this session.
    pub intents: Option<u64>,
}

impl Session {
    /// Set up (READY and every GUILD_CREATE written) and connected.
    fn ready(&self) -> bool {
        self.ready_seq.is_some_and(|r| self.written_seq >= r) && self.conn.is_some()
    }
}

/// The gateway: one session per shard, and what is counted across them.
///
/// Like Discord, a guild's events go to shard `(guild_id >> 22) % shards`; direct messages and
/// anything else without a guild go to shard 0. The shard count is the one the client IDENTIFYs
/// with (`shard: [id, count]`); `GET /gateway/bot` recommends `recommended_shards`.
#[derive(Default)]
pub struct GatewayState {
    /// Sessions by shard id, sized by the first IDENTIFY's shard count.
    pub sessions: Vec<Session>,
    /// Shard count answered by `GET /gateway/bot` (default 1).
    pub recommended_shards: u32,
    pub session_counter: u64,
    /// Dispatches sequenced in every session since the fake started (never reset).
    pub dispatched: u64,
    pub next_conn_id: u64,
    /// Connection id → the shard it identified or resumed as.
    pub conn_shard: HashMap<u64, usize>,
    pub connections: usize,
    pub identify_count: usize,
    pub resume_count: usize,
    pub heartbeats: usize,
    /// When each heartbeat (op 1) was read off the socket, and the shard it came from, in
    /// arrival order.
    pub heartbeat_at: Vec<(usize, Instant)>,
    /// Replay from this seq on the next RESUME even if the client already has it (one-shot).
    pub replay_on_resume: Option<u64>,
    /// Every frame the client sent (parsed), token fields included (fake tokens only).
    pub received: Vec<Value>,
    pub heartbeat_interval_ms: u64,
}

impl GatewayState {
    /// The shard that carries a guild's events (shard 0 without a guild), among the shards the
    /// client identified with (before that, the recommended count).
    pub fn shard_of(&self, guild_id: Option<u64>) -> usize {
        let count = match self.sessions.len() {
            0 => self.recommended_shards as usize,
            n => n,
        };
        match guild_id {
            Some(g) if count > 1 => ((g >> 22) % count as u64) as usize,
            _ => 0,
        }
    }

    /// The session of a guild's shard, if that shard ever identified.
    pub fn session_for(&self, guild_id: Option<u64>) -> Option<&Session> {
        self.sessions.get(self.shard_of(guild_id)).filter(|s| s.session_id.is_some())
    }

    /// Every shard identified, and each one's READY and GUILD_CREATEs were written.
    pub fn ready(&self) -> bool {
        !self.sessions.is_empty() && self.sessions.iter().all(Session::ready)
    }

    /// The session whose current connection is `conn_id`.
    pub fn session_of_conn(&mut self, conn_id: u64) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.conn.as_ref().is_some_and(|c| c.id == conn_id))
    }

    /// The shard a connection identified or resumed as.
    pub fn shard_of_conn(&self, conn_id: u64) -> Option<usize> {
        self.conn_shard.get(&conn_id).copied()
    }
}

#[derive(Clone, Debug)]
pub struct InteractionRecord {
    pub id: u64,
    /// Interaction type (2 command, 3 component).
    pub kind: u8,
    /// `data.type` of a command (1 chat input, 2 user, 3 message); 0 for components.
    pub command_type: u8,
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    /// The message a component interaction belongs to.
    pub message_id: Option<u64>,
    pub acknowledged: bool,
    /// Id of the original response message, once created.
    pub original_id: Option<u64>,
    pub original: Option<Value>,
    /// When the fake dispatched it (for the initial-response deadline).
    pub created: Instant,
}

pub struct State {
    last_snowflake: u64,
    pub requests: Vec<RecordedRequest>,
    pub scripts: Vec<ScriptEntry>,
    /// channel id → message id → stored message (gateway shape: with guild_id/member).
    pub messages: HashMap<u64, BTreeMap<u64, Value>>,
    /// DM channel id → recipient user id.
    pub dm_channels: HashMap<u64, u64>,
    /// (channel id, nonce) → the bot's message created there with that nonce: what a later
    /// create-message with the same nonce and `enforce_nonce` gets back (see `rest.rs`).
    pub nonces: HashMap<(u64, String), u64>,
    pub global_commands: Vec<Value>,
    pub guild_commands: HashMap<u64, Vec<Value>>,
    /// interaction token → record.
    pub interactions: HashMap<String, InteractionRecord>,
    pub gateway: GatewayState,
    /// Echo the bot's own REST-created messages as MESSAGE_CREATE/UPDATE/DELETE (Discord does).
    pub echo_own_messages: bool,
    /// Discord's deadline for the initial interaction response (3 s); `None` = no deadline.
    pub interaction_ack_deadline: Option<Duration>,
    /// Enforce gateway intents (drop events the bot did not ask for, blank `content` without
    /// MESSAGE_CONTENT) like Discord does.
    pub enforce_intents: bool,
    /// Anything the fake itself got wrong or found odd (invalid payload it built, bad token,
    /// unexpected frame). Tests can assert it is empty.
    pub problems: Vec<String>,
}

impl State {
    pub fn new() -> Self {
        State {
            last_snowflake: 0,
            requests: vec![],
            scripts: vec![],
            messages: HashMap::new(),
            dm_channels: HashMap::new(),
            nonces: HashMap::new(),
            global_commands: vec![],
            guild_commands: HashMap::new(),
            interactions: HashMap::new(),
            gateway: GatewayState { heartbeat_interval_ms: 1000, recommended_shards: 1, ..Default::default() },
            echo_own_messages: true,
            interaction_ack_deadline: Some(Duration::from_secs(3)),
            enforce_intents: true,
            problems: vec![],
        }
    }

    /// A fresh snowflake: time-based, strictly increasing.
    pub fn next_snowflake(&mut self) -> u64 {
        self.last_snowflake = (self.last_snowflake + 1).max(snowflake_now());
        self.last_snowflake
    }

    /// Find and consume the next scripted answer for a request.
    pub fn take_script(&mut self, method: &str, path: &str) -> Option<Scripted> {
        self.scripts
            .iter_mut()
            .find(|e| {
                (e.method == "*" || e.method.eq_ignore_ascii_case(method))
                    && glob_match(&e.glob, path)
                    && !e.queue.is_empty()
            })
            .and_then(|e| e.queue.pop_front())
    }

    /// Where a message lives: (guild or None for DMs). `None` for unknown channels.
    pub fn channel_place(&self, world: &GuildFixture, channel_id: u64) -> Option<Option<u64>> {
        if let Some(g) = world.guild_of_channel(channel_id) {
            return Some(Some(g.id));
        }
        if self.dm_channels.contains_key(&channel_id) {
            return Some(None);
        }
        None
    }

    /// Find a stored message in any channel.
    pub fn find_message(&self, message_id: u64) -> Option<&Value> {
        self.messages.values().find_map(|m| m.get(&message_id))
    }

    /// The bot's message created in `channel_id` with `nonce`, while it is still there.
    pub fn message_with_nonce(&self, channel_id: u64, nonce: &str) -> Option<&Value> {
        let id = self.nonces.get(&(channel_id, nonce.to_string()))?;
        self.messages.get(&channel_id)?.get(id)
    }

    pub fn store_message(&mut self, channel_id: u64, id: u64, msg: Value) {
        self.messages.entry(channel_id).or_default().insert(id, msg);
    }
}

/// State + change notification.
pub struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    pub world: GuildFixture,
    pub token: String,
    pub api_base: String,
    pub gateway_url: String,
}

impl Shared {
    pub fn new(world: GuildFixture, token: String, api_base: String, gateway_url: String) -> Self {
        Shared { state: Mutex::new(State::new()), changed: watch::channel(0).0, world, token, api_base, gateway_url }
    }

    /// Lock the state (a panicking test thread does not poison it for the others).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wake every waiter.
    pub fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Wait until `f` returns `Some`, re-checking after every state change; `Err(Timeout)`
    /// naming `what` after `timeout`.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, FakeError> {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = {
                let st = self.lock();
                f(&st)
            };
            if let Some(v) = found {
                return Ok(v);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(FakeError::Shutdown),
                Err(_) => {
                    let found = {
                        let st = self.lock();
                        f(&st)
                    };
                    return found.ok_or_else(|| FakeError::Timeout(format!("{what} (after {timeout:?})")));
                }
            }
        }
    }
}
