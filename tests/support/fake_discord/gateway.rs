//! The fake gateway (WebSocket on its own port): HELLO → IDENTIFY → READY + one GUILD_CREATE
//! per fixture guild of the shard, heartbeat ACKs, a session per shard (a guild's dispatches go
//! on its shard's connection, as on Discord), RESUME with replay of missed dispatches, and the
//! single entry point every dispatch goes through (`dispatch_locked`): validate with serenity's
//! types, apply intents like Discord, assign the next `s`, log it for RESUME, queue it on the
//! socket.
//! Each connection reads and writes apart (a reader, and a writer task draining the queue), so a
//! full socket during a flood does not delay reading the client's heartbeats.
//!
//! Frames are plain JSON text (serenity asks for `compress: true` in IDENTIFY but reads text
//! frames fine; zlib is only needed for binary frames).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State as AxState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serenity::model::gateway::GatewayIntents;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::FakeError;
use super::fixtures;
use super::fixtures::GuildDef;
use super::state::{Conn, Outgoing, Session, Shared, State};
use super::validate::{check_dispatch, dispatch_text};

/// Serve the gateway on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    let app = Router::new().route("/", get(upgrade)).with_state(shared);
    tokio::spawn(async move {
        // No Nagle delay: like Discord, the fake sends each dispatch at once (a delayed ACK after a
        // heartbeat otherwise holds the next frame up to ~40 ms).
        let _ = axum::serve(listener, app).tcp_nodelay(true).await;
    })
}

async fn upgrade(AxState(shared): AxState<Arc<Shared>>, uri: Uri, ws: WebSocketUpgrade) -> Response {
    let query = uri.query().unwrap_or("").to_string();
    if !query.split('&').any(|p| p == "v=10") {
        shared.lock().problems.push(format!("gateway connect without v=10: ?{query}"));
    }
    ws.max_message_size(16 << 20).on_upgrade(move |socket| connection(shared, socket))
}

/// Result of a dispatch attempt that passed validation.
#[derive(Debug)]
pub enum DispatchOutcome {
    /// Sent (or buffered for RESUME while disconnected) with this seq.
    Sent(u64),
    /// Not sent: Discord would not deliver it with the session's intents.
    Filtered(String),
}

fn intent_for(event: &str, in_guild: bool) -> Option<(GatewayIntents, &'static str)> {
    use GatewayIntents as I;
    Some(match event {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            if in_guild {
                (I::GUILD_MESSAGES, "GUILD_MESSAGES")
            } else {
                (I::DIRECT_MESSAGES, "DIRECT_MESSAGES")
            }
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => {
            if in_guild {
                (I::GUILD_MESSAGE_REACTIONS, "GUILD_MESSAGE_REACTIONS")
            } else {
                (I::DIRECT_MESSAGE_REACTIONS, "DIRECT_MESSAGE_REACTIONS")
            }
        }
        "TYPING_START" => {
            if in_guild {
                (I::GUILD_MESSAGE_TYPING, "GUILD_MESSAGE_TYPING")
            } else {
                (I::DIRECT_MESSAGE_TYPING, "DIRECT_MESSAGE_TYPING")
            }
        }
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => (I::GUILD_MEMBERS, "GUILD_MEMBERS"),
        "PRESENCE_UPDATE" => (I::GUILD_PRESENCES, "GUILD_PRESENCES"),
        "GUILD_CREATE"
        | "GUILD_UPDATE"
        | "GUILD_DELETE"
        | "GUILD_ROLE_CREATE"
        | "GUILD_ROLE_UPDATE"
        | "GUILD_ROLE_DELETE"
        | "CHANNEL_CREATE"
        | "CHANNEL_UPDATE"
        | "CHANNEL_DELETE"
        | "CHANNEL_PINS_UPDATE"
        | "THREAD_CREATE"
        | "THREAD_UPDATE"
        | "THREAD_DELETE"
        | "THREAD_LIST_SYNC"
        | "THREAD_MEMBER_UPDATE"
        | "THREAD_MEMBERS_UPDATE" => (I::GUILDS, "GUILDS"),
        _ => return None,
    })
}

/// Validate, apply intents, assign a seq, log and send (or buffer) one dispatch, on the shard
/// that carries its guild (`guild_id` in `data`; shard 0 without one).
/// `checked = false` skips serenity validation (for deliberately odd payloads).
pub fn dispatch_locked(
    shared: &Shared,
    st: &mut State,
    event: &str,
    data: Value,
    checked: bool,
) -> Result<DispatchOutcome, FakeError> {
    let shard = st.gateway.shard_of(guild_of(&data));
    dispatch_on(shared, st, shard, event, data, checked)
}

/// The `guild_id` of a dispatch's data (a snowflake string, or a number).
pub fn guild_of(data: &Value) -> Option<u64> {
    match data.get("guild_id")? {
        Value::String(s) => s.parse().ok(),
        v => v.as_u64(),
    }
}

/// [`dispatch_locked`] on a given shard's session.
fn dispatch_on(
    shared: &Shared,
    st: &mut State,
    shard: usize,
    event: &str,
    mut data: Value,
    checked: bool,
) -> Result<DispatchOutcome, FakeError> {
    let Some(session) = st.gateway.sessions.get(shard).filter(|s| s.session_id.is_some()) else {
        return Err(FakeError::NotConnected(format!(
            "cannot dispatch {event}: shard {shard} has no gateway session yet (wait_ready first)"
        )));
    };
    let (next, session_intents) = (session.seq + 1, session.intents);
    if checked {
        check_dispatch(&dispatch_text(event, &data, next)).map_err(|e| FakeError::Invalid(format!("{event}: {e}")))?;
    }
    if st.enforce_intents {
        let intents = GatewayIntents::from_bits_truncate(session_intents.unwrap_or(0));
        let in_guild = data.get("guild_id").is_some_and(|g| !g.is_null());
        if let Some((needed, name)) = intent_for(event, in_guild) {
            if !intents.contains(needed) {
                return Ok(DispatchOutcome::Filtered(format!(
                    "{event} needs the {name} intent, which the bot did not IDENTIFY with"
                )));
            }
        }
        let bot = sid_str(shared.world.bot.id);
        let author_is_bot = data.pointer("/author/id").and_then(Value::as_str) == Some(bot.as_str());
        let mentions_bot = data
            .get("mentions")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|u| u.get("id").and_then(Value::as_str) == Some(bot.as_str())));
        if (event == "MESSAGE_CREATE" || event == "MESSAGE_UPDATE")
            && in_guild
            && !intents.contains(GatewayIntents::MESSAGE_CONTENT)
            && !author_is_bot
            && !mentions_bot
        {
            if let Some(o) = data.as_object_mut() {
                if o.contains_key("content") {
                    o.insert("content".into(), json!(""));
                }
                for k in ["embeds", "attachments", "components"] {
                    if o.contains_key(k) {
                        o.insert(k.into(), json!([]));
                    }
                }
                o.remove("poll");
            }
        }
    }
    let text = dispatch_text(event, &data, next);
    st.gateway.dispatched += 1;
    let session = &mut st.gateway.sessions[shard];
    session.seq = next;
    session.log.push((next, text.clone()));
    if let Some(conn) = &session.conn {
        let _ = conn.tx.send(Outgoing::Frame { text, seq: Some(next) });
    }
    Ok(DispatchOutcome::Sent(next))
}

fn sid_str(id: u64) -> String {
    id.to_string()
}

/// Make `conn_id` the connection of `shard`'s session (dropping the one it replaces).
fn replace_conn(st: &mut State, shard: usize, conn_id: u64, tx: &mpsc::UnboundedSender<Outgoing>) {
    if let Some(old) = st.gateway.sessions[shard].conn.take() {
        if old.id != conn_id {
            let _ = old.tx.send(Outgoing::Drop);
        }
    }
    st.gateway.sessions[shard].conn = Some(Conn { id: conn_id, tx: tx.clone() });
    st.gateway.conn_shard.insert(conn_id, shard);
}

fn token_ok(shared: &Shared, d: &Value) -> bool {
    let token = d.get("token").and_then(Value::as_str).unwrap_or("");
    token.strip_prefix("Bot ").unwrap_or(token) == shared.token
}

/// IDENTIFY's `shard: [id, count]` (`[0, 1]` without one), checked like Discord: close code 4010
/// for an id outside the count, or a count other than the one the connected shards use.
fn identify_shard(st: &mut State, d: &Value) -> Result<(usize, usize), String> {
    let pair = match d.get("shard") {
        None | Some(Value::Null) => Some((0, 1)),
        Some(v) => v.as_array().and_then(|a| match a.as_slice() {
            [id, count] => Some((id.as_u64()? as usize, count.as_u64()? as usize)),
            _ => None,
        }),
    };
    let Some((id, count)) = pair.filter(|(id, count)| id < count) else {
        return Err(format!("IDENTIFY with an invalid shard: {:?}", d.get("shard")));
    };
    let gw = &mut st.gateway;
    if gw.sessions.len() != count {
        if gw.sessions.iter().any(|s| s.conn.is_some()) {
            return Err(format!("IDENTIFY as shard [{id}, {count}] while {} shards are connected", gw.sessions.len()));
        }
        gw.sessions = (0..count).map(|_| Session::default()).collect();
    }
    Ok((id, count))
}

fn on_identify(shared: &Shared, st: &mut State, conn_id: u64, tx: &mpsc::UnboundedSender<Outgoing>, d: &Value) {
    if !token_ok(shared, d) {
        st.problems.push("IDENTIFY with a token that is not FakeDiscord::token()".into());
        let _ = tx.send(Outgoing::Close { code: 4004, reason: "Authentication failed.".into() });
        return;
    }
    let (shard, count) = match identify_shard(st, d) {
        Ok(pair) => pair,
        Err(problem) => {
            st.problems.push(problem);
            let _ = tx.send(Outgoing::Close { code: 4010, reason: "Invalid shard.".into() });
            return;
        }
    };
    let gw = &mut st.gateway;
    gw.identify_count += 1;
    gw.session_counter += 1;
    let session_id = format!("fake{:028x}", gw.session_counter);
    gw.sessions[shard] = Session {
        session_id: Some(session_id.clone()),
        intents: d.get("intents").and_then(Value::as_u64),
        conn: gw.sessions[shard].conn.take(),
        ..Session::default()
    };
    replace_conn(st, shard, conn_id, tx);
    let world = &shared.world;
    let guilds: Vec<&GuildDef> = world.guilds.iter().filter(|g| st.gateway.shard_of(Some(g.id)) == shard).collect();
    let ready = fixtures::ready_json(world, &guilds, &session_id, &shared.gateway_url, [shard, count]);
    if let Err(e) = dispatch_on(shared, st, shard, "READY", ready, true) {
        st.problems.push(format!("fake READY is invalid: {e}"));
    }
    for g in guilds {
        if let Err(e) = dispatch_on(shared, st, shard, "GUILD_CREATE", fixtures::guild_create_json(world, g), true) {
            st.problems.push(format!("fake GUILD_CREATE for {} is invalid: {e}", g.id));
        }
    }
    let session = &mut st.gateway.sessions[shard];
    session.ready_seq = Some(session.seq);
}

fn on_resume(shared: &Shared, st: &mut State, conn_id: u64, tx: &mpsc::UnboundedSender<Outgoing>, d: &Value) {
    if !token_ok(shared, d) {
        st.problems.push("RESUME with a token that is not FakeDiscord::token()".into());
        let _ = tx.send(Outgoing::Close { code: 4004, reason: "Authentication failed.".into() });
        return;
    }
    let session_id = d.get("session_id").and_then(Value::as_str);
    let seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
    let shard =
        st.gateway.sessions.iter().position(|s| s.session_id.is_some() && s.session_id.as_deref() == session_id);
    let Some(shard) = shard.filter(|&shard| seq <= st.gateway.sessions[shard].seq) else {
        // Not resumable: Discord answers op 9 with d=false and the client re-identifies.
        let _ = tx
            .send(Outgoing::Frame { text: json!({"op": 9, "d": false, "s": null, "t": null}).to_string(), seq: None });
        return;
    };
    st.gateway.resume_count += 1;
    replace_conn(st, shard, conn_id, tx);
    let mut from = seq + 1;
    if let Some(replay) = st.gateway.replay_on_resume.take() {
        from = from.min(replay);
    }
    for (s, text) in st.gateway.sessions[shard].log.iter().filter(|(s, _)| *s >= from) {
        let _ = tx.send(Outgoing::Frame { text: text.clone(), seq: Some(*s) });
    }
    match dispatch_on(shared, st, shard, "RESUMED", json!({}), true) {
        Ok(DispatchOutcome::Sent(s)) => st.gateway.sessions[shard].resumed_seq = Some(s),
        other => st.problems.push(format!("RESUMED not sent: {other:?}")),
    }
}

/// One text frame from the client; `arrived` is when the reader read it.
fn on_client_frame(shared: &Shared, conn_id: u64, tx: &mpsc::UnboundedSender<Outgoing>, text: &str, arrived: Instant) {
    let mut st = shared.lock();
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        st.problems.push(format!("gateway got a non-JSON frame: {text}"));
        let _ = tx.send(Outgoing::Close { code: 4002, reason: "Error while decoding payload.".into() });
        return;
    };
    st.gateway.received.push(v.clone());
    let d = v.get("d").cloned().unwrap_or(Value::Null);
    match v.get("op").and_then(Value::as_u64) {
        Some(1) => {
            let shard = st.gateway.shard_of_conn(conn_id).unwrap_or(0);
            st.gateway.heartbeats += 1;
            st.gateway.heartbeat_at.push((shard, arrived));
            let ack = json!({"op": 11, "d": null, "s": null, "t": null}).to_string();
            let _ = tx.send(Outgoing::Frame { text: ack, seq: None });
        }
        Some(2) => on_identify(shared, &mut st, conn_id, tx, &d),
        Some(6) => on_resume(shared, &mut st, conn_id, tx, &d),
        // presence update, voice state, request guild members, request soundboard sounds
        Some(3 | 4 | 8 | 31) => {}
        other => {
            st.problems.push(format!("gateway got unknown opcode {other:?}"));
            let _ = tx.send(Outgoing::Close { code: 4001, reason: "Unknown opcode.".into() });
        }
    }
}

/// Why the reader stopped.
enum ReadEnd {
    /// The client sent a close frame: the closing handshake is to be completed.
    ClientClosed,
    /// The socket ended or failed.
    Gone,
}

/// One gateway connection: HELLO, then a reader (client frames, in this task) and a writer (the
/// outgoing queue, its own task), so a writer waiting on a full socket never delays reading: each
/// heartbeat is recorded and ACKed when it arrives. Either ending ends the connection.
async fn connection(shared: Arc<Shared>, socket: WebSocket) {
    let (tx, rx) = mpsc::unbounded_channel::<Outgoing>();
    let (conn_id, interval) = {
        let mut st = shared.lock();
        st.gateway.next_conn_id += 1;
        st.gateway.connections += 1;
        (st.gateway.next_conn_id, st.gateway.heartbeat_interval_ms)
    };
    shared.notify();
    let (mut sink, stream) = socket.split();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}, "s": null, "t": null});
    if sink.send(Message::Text(hello.to_string())).await.is_err() {
        return;
    }
    let (close_tx, close_rx) = oneshot::channel::<()>();
    let mut writer = tokio::spawn(write_frames(shared.clone(), conn_id, sink, rx, close_rx));
    let writer_ended = tokio::select! {
        end = read_frames(&shared, conn_id, stream, &tx) => match end {
            // Complete the closing handshake: the writer flushes tungstenite's queued reply.
            ReadEnd::ClientClosed => {
                let _ = close_tx.send(());
                tokio::time::timeout(CLOSE_HANDSHAKE, &mut writer).await.is_ok()
            }
            ReadEnd::Gone => false,
        },
        // The writer ended (Drop, Close, a failed write): the reader and its half go with it.
        _ = &mut writer => true,
    };
    if !writer_ended {
        writer.abort();
        // Its half of the socket is dropped once the aborted task is gone.
        let _ = writer.await;
    }
    {
        let mut st = shared.lock();
        if let Some(session) = st.gateway.session_of_conn(conn_id) {
            session.conn = None;
        }
    }
    shared.notify();
}

/// How long the writer may take to flush the reply to a client's close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(5);

/// Reads client frames until the client closes or the socket ends. Each frame's arrival time is
/// taken as soon as it is read, before the state lock.
async fn read_frames(
    shared: &Shared,
    conn_id: u64,
    mut stream: SplitStream<WebSocket>,
    tx: &mpsc::UnboundedSender<Outgoing>,
) -> ReadEnd {
    while let Some(incoming) = stream.next().await {
        match incoming {
            Ok(Message::Text(t)) => {
                on_client_frame(shared, conn_id, tx, &t, Instant::now());
                shared.notify();
            }
            Ok(Message::Binary(_)) => {
                shared.lock().problems.push("gateway got a binary frame (ETF/compressed?)".into());
            }
            Ok(Message::Close(_)) => return ReadEnd::ClientClosed,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    ReadEnd::Gone
}

/// Writes queued frames until `Outgoing::Drop`/`Close`, a failed write, or the reader's request
/// to complete the closing handshake (`closing`). `written_seq` follows each dispatch written.
async fn write_frames(
    shared: Arc<Shared>,
    conn_id: u64,
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    mut closing: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            request = &mut closing => {
                // The client sent a close frame: tungstenite queued the reply; flush it. (Without
                // a request the connection task itself is gone, and so is the connection.)
                if request.is_ok() {
                    let _ = sink.close().await;
                }
                return;
            }
            out = rx.recv() => match out {
                Some(Outgoing::Frame { text, seq }) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        return;
                    }
                    if let Some(s) = seq {
                        let mut st = shared.lock();
                        if let Some(session) = st.gateway.session_of_conn(conn_id) {
                            session.written_seq = session.written_seq.max(s);
                        }
                        drop(st);
                        shared.notify();
                    }
                }
                // Abrupt: no close frame; dropping this half (and the reader's) drops the TCP
                // connection.
                Some(Outgoing::Drop) | None => return,
                Some(Outgoing::Close { code, reason }) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    return;
                }
            },
        }
    }
}
