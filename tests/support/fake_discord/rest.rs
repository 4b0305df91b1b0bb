//! The fake REST API (`{api_base}/api/v10/...`): records every call, applies scripted
//! overrides (`FakeDiscord::script`), and otherwise answers the default routes with JSON that
//! is checked against the serenity type the client decodes it into (a failure becomes a 500
//! plus an entry in `FakeDiscord::problems()`). Unknown routes get a recorded 404.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use serenity::model::prelude::*;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::fixtures::{self, Place, sid};
use super::gateway::{DispatchOutcome, dispatch_locked};
use super::state::{InteractionRecord, RecordedRequest, Scripted, Shared, State, query_pairs};
use super::validate::check_rest;

/// Serve the REST API on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    let app = Router::new().fallback(handle).layer(DefaultBodyLimit::max(64 * 1024 * 1024)).with_state(shared);
    tokio::spawn(async move {
        // No Nagle delay: like Discord, the fake sends each dispatch at once (a delayed ACK after a
        // heartbeat otherwise holds the next frame up to ~40 ms).
        let _ = axum::serve(listener, app).tcp_nodelay(true).await;
    })
}

/// A computed answer.
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Answer { status, body: Some(body), headers: vec![] }
    }
    fn no_content() -> Self {
        Answer { status: 204, body: None, headers: vec![] }
    }
    fn error(status: u16, code: i64, message: &str) -> Self {
        Answer::json(status, json!({"message": message, "code": code}))
    }
}

/// Answer 200 with `v` after checking serenity can decode it as `T`.
fn ok<T: DeserializeOwned>(st: &mut State, route: &str, v: Value) -> Answer {
    match check_rest::<T>(&v) {
        Ok(_) => Answer::json(200, v),
        Err(e) => {
            st.problems.push(format!("fake REST answer for {route} is invalid: {e}"));
            Answer::error(500, 0, &format!("fake produced an invalid answer: {e}"))
        }
    }
}

fn generic_error_body(status: u16) -> Value {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    json!({"message": format!("{status}: {reason}"), "code": 0})
}

/// Headers Discord sends with a 429.
pub fn rate_limit_headers(body: Option<&Value>) -> Vec<(String, String)> {
    let retry_after = body.and_then(|b| b.get("retry_after")).and_then(Value::as_f64).unwrap_or(1.0);
    let global = body.and_then(|b| b.get("global")).and_then(Value::as_bool).unwrap_or(false);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut h = vec![
        ("retry-after".to_string(), format!("{}", retry_after.ceil() as u64)),
        ("x-ratelimit-limit".to_string(), "5".to_string()),
        ("x-ratelimit-remaining".to_string(), "0".to_string()),
        ("x-ratelimit-reset".to_string(), format!("{:.3}", now + retry_after)),
        ("x-ratelimit-reset-after".to_string(), format!("{retry_after:.3}")),
        ("x-ratelimit-bucket".to_string(), "fakebucket0000000000000000000000".to_string()),
        ("x-ratelimit-scope".to_string(), if global { "global" } else { "user" }.to_string()),
    ];
    if global {
        h.push(("x-ratelimit-global".to_string(), "true".to_string()));
    }
    h
}

/// Extract `payload_json` and file names from a multipart/form-data body.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> (Option<Value>, Vec<String>) {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
    else {
        return (None, vec![]);
    };
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut payload = None;
    let mut files = vec![];
    for part in text.split(delimiter.as_str()) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content).ok();
        } else if let Some(idx) = head.find("filename=\"") {
            let rest = &head[idx + 10..];
            files.push(rest.split('"').next().unwrap_or_default().to_string());
        }
    }
    (payload, files)
}

async fn handle(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Stamped first: when the request reached the fake, not also how long it then waited for the
    // fake's own state lock (which in a load run the fake holds to validate and echo every
    // dispatch: that wait is the fake's contention, not the bot's latency).
    let received_at = std::time::Instant::now();
    let raw_path = uri.path().to_string();
    let path = raw_path.strip_prefix("/api/v10").map(str::to_string);
    let query = uri.query().unwrap_or("").to_string();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (json_body, files) = if content_type.starts_with("multipart/form-data") {
        parse_multipart(&content_type, &body)
    } else if body.is_empty() {
        (None, vec![])
    } else {
        (
            Some(
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            ),
            vec![],
        )
    };
    let header_list: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string())).collect();
    let method_s = method.as_str().to_ascii_uppercase();
    let rec_path = path.clone().unwrap_or_else(|| raw_path.clone());

    let (index, script) = {
        let mut st = shared.lock();
        let index = st.requests.len();
        st.requests.push(RecordedRequest {
            index,
            method: method_s.clone(),
            path: rec_path.clone(),
            query: query.clone(),
            body: json_body.clone(),
            files,
            headers: header_list,
            status: None,
            received_at,
        });
        if path.is_none() {
            st.problems.push(format!("REST call outside /api/v10: {method_s} {raw_path}"));
        }
        let script = st.take_script(&method_s, &rec_path);
        (index, script)
    };
    shared.notify();

    if let Some(Scripted { delay: Some(d), .. }) = &script {
        tokio::time::sleep(*d).await;
    }

    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let answer = if auth != format!("Bot {}", shared.token) {
        Answer::error(401, 0, "401: Unauthorized")
    } else {
        match script {
            Some(Scripted { status: Some(status), body: Some(b), headers, .. }) => {
                Answer { status, body: Some(b), headers }
            }
            Some(Scripted { status: Some(status), body: None, headers, .. }) if status >= 300 => {
                Answer { status, body: Some(generic_error_body(status)), headers }
            }
            Some(Scripted { status, headers, .. }) => {
                let mut a = {
                    let mut st = shared.lock();
                    route(&shared, &mut st, &method_s, &rec_path, &query, json_body.as_ref())
                };
                if let Some(s) = status {
                    a.status = s;
                }
                a.headers.extend(headers);
                a
            }
            None => {
                let mut st = shared.lock();
                route(&shared, &mut st, &method_s, &rec_path, &query, json_body.as_ref())
            }
        }
    };

    {
        let mut st = shared.lock();
        if let Some(r) = st.requests.get_mut(index) {
            r.status = Some(answer.status);
        }
    }
    shared.notify();

    let mut builder = Response::builder().status(answer.status);
    let mut extra = answer.headers;
    if answer.status == 429 {
        let mut defaults = rate_limit_headers(answer.body.as_ref());
        defaults.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        extra.extend(defaults);
    }
    for (k, v) in &extra {
        builder = builder.header(k.as_str(), v.as_str());
    }
    match answer.body {
        Some(b) if answer.status != 204 => {
            builder.header("content-type", "application/json").body(Body::from(b.to_string())).expect("response")
        }
        _ => builder.body(Body::empty()).expect("response"),
    }
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Echo an event to the bot if a session exists (Discord sends the bot its own messages).
fn echo(shared: &Shared, st: &mut State, event: &str, data: Value) {
    let guild = super::gateway::guild_of(&data);
    if !st.echo_own_messages || st.gateway.session_for(guild).is_none() {
        return;
    }
    match dispatch_locked(shared, st, event, data, true) {
        Ok(DispatchOutcome::Sent(_) | DispatchOutcome::Filtered(_)) => {}
        Err(e) => st.problems.push(format!("echo of {event} failed: {e}")),
    }
}

/// The default routes. `path` has no `/api/v10` prefix.
pub fn route(shared: &Shared, st: &mut State, method: &str, path: &str, query: &str, body: Option<&Value>) -> Answer {
    let world = &shared.world;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let null = Value::Null;
    let body = body.unwrap_or(&null);
    let app_ok = |app: &str| parse_id(app) == Some(world.application_id);
    match (method, segs.as_slice()) {
        ("GET", ["gateway"]) => ok::<Gateway>(st, path, json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => {
            let shards = st.gateway.recommended_shards;
            ok::<BotGateway>(st, path, fixtures::bot_gateway_json(&shared.gateway_url, shards))
        }
        ("GET" | "PATCH", ["users", "@me"]) => ok::<CurrentUser>(st, path, fixtures::current_user_json(world)),
        ("GET", ["users", uid]) => match parse_id(uid).and_then(|u| world.user(u)) {
            Some(u) => ok::<User>(st, path, fixtures::user_json(u)),
            None => Answer::error(404, 10013, "Unknown User"),
        },
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            ok::<CurrentApplicationInfo>(st, path, fixtures::application_json(world))
        }

        // ---- application commands ----
        (_, ["applications", app, "commands", ..] | ["applications", app, "guilds", _, "commands", ..])
            if !app_ok(app) =>
        {
            Answer::error(404, 10002, "Unknown Application")
        }
        (m, ["applications", _, "commands", rest @ ..]) => commands(st, world, path, m, None, rest, body),
        (m, ["applications", _, "guilds", g, "commands", rest @ ..]) => match parse_id(g) {
            Some(g) if world.guild(g).is_some() => commands(st, world, path, m, Some(g), rest, body),
            _ => Answer::error(404, 10004, "Unknown Guild"),
        },

        // ---- DMs ----
        ("POST", ["users", "@me", "channels"]) => {
            let recipient = body.get("recipient_id").and_then(|v| v.as_str().and_then(parse_id).or_else(|| v.as_u64()));
            let Some(recipient) = recipient else {
                return Answer::error(400, 50035, "Invalid Form Body");
            };
            let channel_id = dm_channel_for(st, recipient);
            ok::<PrivateChannel>(st, path, fixtures::dm_channel_json(world, channel_id, recipient))
        }

        // ---- channels & messages ----
        ("GET", ["channels", cid]) => {
            let Some(cid) = parse_id(cid) else {
                return Answer::error(404, 10003, "Unknown Channel");
            };
            if let Some(g) = world.guild_of_channel(cid) {
                let c = g.channel(cid).expect("channel");
                ok::<Channel>(st, path, fixtures::channel_json(c, g.id, true))
            } else if let Some(&recipient) = st.dm_channels.get(&cid) {
                ok::<Channel>(st, path, fixtures::dm_channel_json(world, cid, recipient))
            } else {
                Answer::error(404, 10003, "Unknown Channel")
            }
        }
        ("GET", ["guilds", g, "channels"]) => match parse_id(g).and_then(|g| world.guild(g)) {
            Some(g) => {
                let v: Vec<Value> = g
                    .channels
                    .iter()
                    .filter(|c| !c.is_thread())
                    .map(|c| fixtures::channel_json(c, g.id, true))
                    .collect();
                ok::<Vec<GuildChannel>>(st, path, Value::Array(v))
            }
            None => Answer::error(404, 10004, "Unknown Guild"),
        },
        (m, ["channels", cid, rest @ ..]) => {
            let Some(cid) = parse_id(cid) else {
                return Answer::error(404, 10003, "Unknown Channel");
            };
            let Some(guild_id) = st.channel_place(world, cid) else {
                return Answer::error(404, 10003, "Unknown Channel");
            };
            let place = Place { channel_id: cid, guild_id };
            channel_routes(shared, st, path, m, &place, rest, query, body)
        }

        // ---- guilds ----
        ("GET", ["guilds", g]) => match parse_id(g).and_then(|g| world.guild(g)) {
            Some(g) => {
                let mut v = fixtures::guild_create_json(world, g);
                if let Some(o) = v.as_object_mut() {
                    for k in [
                        "members",
                        "channels",
                        "threads",
                        "presences",
                        "voice_states",
                        "joined_at",
                        "large",
                        "unavailable",
                        "lazy",
                        "member_count",
                        "stage_instances",
                        "guild_scheduled_events",
                        "soundboard_sounds",
                        "embedded_activities",
                    ] {
                        o.remove(k);
                    }
                }
                ok::<PartialGuild>(st, path, v)
            }
            None => Answer::error(404, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "roles"]) => match parse_id(g).and_then(|g| world.guild(g)) {
            Some(g) => {
                let v = Value::Array(g.roles.iter().map(fixtures::role_json).collect());
                ok::<Vec<Role>>(st, path, v)
            }
            None => Answer::error(404, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", g, "members"]) => match parse_id(g).and_then(|g| world.guild(g)) {
            Some(g) => {
                let pairs = query_pairs(query);
                let get = |k: &str| pairs.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.parse::<u64>().ok());
                let limit = get("limit").unwrap_or(1).clamp(1, 1000) as usize;
                let after = get("after").unwrap_or(0);
                let mut members: Vec<_> = g.members.iter().filter(|m| m.user_id > after).collect();
                members.sort_by_key(|m| m.user_id);
                let v: Vec<Value> = members.into_iter().take(limit).map(|m| fixtures::member_json(world, m)).collect();
                ok::<Vec<Member>>(st, path, Value::Array(v))
            }
            None => Answer::error(404, 10004, "Unknown Guild"),
        },
        ("GET" | "PATCH", ["guilds", g, "members", u]) => {
            let Some(g) = parse_id(g).and_then(|g| world.guild(g)) else {
                return Answer::error(404, 10004, "Unknown Guild");
            };
            match parse_id(u).and_then(|u| g.member(u)) {
                Some(m) => ok::<Member>(st, path, fixtures::member_json(world, m)),
                None => Answer::error(404, 10007, "Unknown Member"),
            }
        }
        ("PUT" | "DELETE", ["guilds", g, "members", u, "roles", r]) => {
            let Some(g) = parse_id(g).and_then(|g| world.guild(g)) else {
                return Answer::error(404, 10004, "Unknown Guild");
            };
            if parse_id(u).and_then(|u| g.member(u)).is_none() {
                return Answer::error(404, 10007, "Unknown Member");
            }
            if parse_id(r).and_then(|r| g.role(r)).is_none() {
                return Answer::error(404, 10011, "Unknown Role");
            }
            Answer::no_content()
        }

        // ---- interactions ----
        ("POST", ["interactions", iid, token, "callback"]) => interaction_callback(shared, st, iid, token, body),
        (_, ["webhooks", app, ..]) if !app_ok(app) => Answer::error(404, 10015, "Unknown Webhook"),
        (m, ["webhooks", _, token, rest @ ..]) => webhook_routes(shared, st, path, m, token, rest, body),

        _ => Answer::error(404, 0, "Unknown route (fake)"),
    }
}

/// The DM channel id for a user (created on first use).
pub fn dm_channel_for(st: &mut State, recipient: u64) -> u64 {
    if let Some((&cid, _)) = st.dm_channels.iter().find(|(_, r)| **r == recipient) {
        return cid;
    }
    let cid = st.next_snowflake();
    st.dm_channels.insert(cid, recipient);
    cid
}

fn commands(
    st: &mut State,
    world: &fixtures::GuildFixture,
    path: &str,
    method: &str,
    guild: Option<u64>,
    rest: &[&str],
    body: &Value,
) -> Answer {
    fn same(a: &Value, b: &Value) -> bool {
        a.get("name") == b.get("name")
            && a.get("type").and_then(Value::as_u64).unwrap_or(1) == b.get("type").and_then(Value::as_u64).unwrap_or(1)
    }
    let existing: Vec<Value> = match guild {
        Some(g) => st.guild_commands.get(&g).cloned().unwrap_or_default(),
        None => st.global_commands.clone(),
    };
    let build = |st: &mut State, b: &Value, existing: &[Value]| {
        let id = existing
            .iter()
            .find(|e| same(e, b))
            .and_then(|e| e.get("id").and_then(Value::as_str).and_then(parse_id))
            .unwrap_or_else(|| st.next_snowflake());
        let version = st.next_snowflake();
        fixtures::command_json(world, b, id, version, guild)
    };
    let save = |st: &mut State, list: Vec<Value>| match guild {
        Some(g) => {
            st.guild_commands.insert(g, list);
        }
        None => st.global_commands = list,
    };
    match (method, rest) {
        ("GET", []) => ok::<Vec<Command>>(st, path, Value::Array(existing)),
        ("PUT", []) => {
            let Some(items) = body.as_array() else {
                return Answer::error(400, 50035, "Invalid Form Body");
            };
            let list: Vec<Value> = items.iter().map(|b| build(st, b, &existing)).collect();
            let answer = ok::<Vec<Command>>(st, path, Value::Array(list.clone()));
            if answer.status == 200 {
                save(st, list);
            }
            answer
        }
        ("POST", []) => {
            let cmd = build(st, body, &existing);
            let answer = ok::<Command>(st, path, cmd.clone());
            if answer.status == 200 {
                let mut list = existing;
                list.retain(|e| !same(e, &cmd));
                list.push(cmd);
                save(st, list);
            }
            answer
        }
        (m, [cid]) => {
            let pos = existing.iter().position(|e| e.get("id").and_then(Value::as_str) == Some(*cid));
            let Some(pos) = pos else {
                return Answer::error(404, 10063, "Unknown application command");
            };
            match m {
                "GET" => ok::<Command>(st, path, existing[pos].clone()),
                "PATCH" => {
                    let mut list = existing;
                    let mut cmd = list[pos].clone();
                    if let (Some(c), Some(b)) = (cmd.as_object_mut(), body.as_object()) {
                        for (k, v) in b {
                            c.insert(k.clone(), v.clone());
                        }
                        c.insert("version".into(), sid(st.next_snowflake()));
                    }
                    list[pos] = cmd.clone();
                    save(st, list);
                    ok::<Command>(st, path, cmd)
                }
                "DELETE" => {
                    let mut list = existing;
                    list.remove(pos);
                    save(st, list);
                    Answer::no_content()
                }
                _ => Answer::error(405, 0, "405: Method Not Allowed"),
            }
        }
        _ => Answer::error(404, 0, "Unknown route (fake)"),
    }
}

/// Paging of `GET /channels/{id}/messages` as Discord does it: newest first; `before` = the
/// `limit` newest older than it; `after` = the `limit` oldest newer than it (still returned
/// newest first); `around`; none = the newest `limit`. `limit` 1..=100 (default 50).
pub fn page_messages(st: &State, channel_id: u64, query: &str) -> Result<Vec<Value>, Answer> {
    let pairs = query_pairs(query);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = match get("limit") {
        None => 50,
        Some(l) => match l.parse::<u64>() {
            Ok(l) if (1..=100).contains(&l) => l as usize,
            _ => {
                return Err(Answer::error(400, 50035, "Invalid Form Body (limit must be 1..=100)"));
            }
        },
    };
    let anchors = ["around", "before", "after"].iter().filter(|k| get(k).is_some()).count();
    if anchors > 1 {
        return Err(Answer::error(400, 50035, "Invalid Form Body (around/before/after are exclusive)"));
    }
    let empty = Default::default();
    let all = st.messages.get(&channel_id).unwrap_or(&empty);
    let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());
    let mut picked: Vec<&Value> = if let Some(before) = num("before") {
        let older: Vec<&Value> = all.range(..before).map(|(_, v)| v).collect();
        older[older.len().saturating_sub(limit)..].to_vec()
    } else if let Some(after) = num("after") {
        all.range(after.saturating_add(1)..).map(|(_, v)| v).take(limit).collect()
    } else if let Some(around) = num("around") {
        let newer: Vec<&Value> = all.range(around..).map(|(_, v)| v).take(limit.div_ceil(2)).collect();
        let older: Vec<&Value> = all.range(..around).map(|(_, v)| v).collect();
        let n_old = limit - newer.len();
        let mut v = older[older.len().saturating_sub(n_old)..].to_vec();
        v.extend(newer);
        v
    } else {
        let v: Vec<&Value> = all.values().collect();
        v[v.len().saturating_sub(limit)..].to_vec()
    };
    picked.reverse();
    Ok(picked.into_iter().map(fixtures::rest_message).collect())
}

/// A create-message body's nonce, which Discord takes as a number or a string: compared by its
/// text.
fn nonce_of(body: &Value) -> Option<String> {
    match body.get("nonce")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn channel_routes(
    shared: &Shared,
    st: &mut State,
    path: &str,
    method: &str,
    place: &Place,
    rest: &[&str],
    query: &str,
    body: &Value,
) -> Answer {
    let world = &shared.world;
    let cid = place.channel_id;
    let guild_sid = place.guild_id.map(sid);
    match (method, rest) {
        ("GET", ["messages"]) => match page_messages(st, cid, query) {
            Ok(list) => ok::<Vec<Message>>(st, path, Value::Array(list)),
            Err(a) => a,
        },
        ("POST", ["messages"]) => {
            let content = body.get("content").and_then(Value::as_str).unwrap_or("");
            let has_payload = !content.is_empty()
                || body.get("embeds").and_then(Value::as_array).is_some_and(|e| !e.is_empty())
                || body.get("sticker_ids").and_then(Value::as_array).is_some_and(|e| !e.is_empty())
                || body.get("attachments").and_then(Value::as_array).is_some_and(|e| !e.is_empty())
                || body.get("poll").is_some_and(|p| !p.is_null());
            if !has_payload {
                return Answer::error(400, 50006, "Cannot send an empty message");
            }
            let nonce = nonce_of(body);
            let enforced = body.get("enforce_nonce").and_then(Value::as_bool) == Some(true);
            if let Some(original) = nonce.as_deref().filter(|_| enforced).and_then(|n| st.message_with_nonce(cid, n)) {
                // Discord's answer to a repeated send: the message the nonce already made, no new one
                // (and so no MESSAGE_CREATE).
                let original = fixtures::rest_message(original);
                return ok::<Message>(st, path, original);
            }
            let referenced = body
                .get("message_reference")
                .and_then(|r| r.get("message_id"))
                .and_then(|m| m.as_str().and_then(parse_id).or_else(|| m.as_u64()))
                .and_then(|m| st.find_message(m).map(fixtures::rest_message));
            let id = st.next_snowflake();
            let msg = fixtures::bot_message_json(world, id, place, body, 0, referenced.as_ref());
            let answer = ok::<Message>(st, path, fixtures::rest_message(&msg));
            if answer.status == 200 {
                // The first live message with a nonce keeps it (one sent without `enforce_nonce`
                // may repeat it); a deleted one's is taken by the next.
                if let Some(nonce) = nonce.filter(|n| st.message_with_nonce(cid, n).is_none()) {
                    st.nonces.insert((cid, nonce), id);
                }
                st.store_message(cid, id, msg.clone());
                echo(shared, st, "MESSAGE_CREATE", msg);
            }
            answer
        }
        ("GET", ["messages", mid]) => {
            match parse_id(mid).and_then(|m| st.messages.get(&cid).and_then(|c| c.get(&m))).cloned() {
                Some(m) => ok::<Message>(st, path, fixtures::rest_message(&m)),
                None => Answer::error(404, 10008, "Unknown Message"),
            }
        }
        ("PATCH", ["messages", mid]) => {
            let Some(mid) = parse_id(mid) else {
                return Answer::error(404, 10008, "Unknown Message");
            };
            let Some(mut msg) = st.messages.get(&cid).and_then(|c| c.get(&mid)).cloned() else {
                return Answer::error(404, 10008, "Unknown Message");
            };
            let author = msg.pointer("/author/id").and_then(Value::as_str).and_then(parse_id);
            if author != Some(world.bot.id) {
                // Discord only lets a bot change flags (e.g. suppress embeds) of others' messages.
                if body.get("content").is_some() || body.get("embeds").is_some() {
                    return Answer::error(403, 50005, "Cannot edit a message authored by another user");
                }
            }
            fixtures::apply_message_edit(&mut msg, body);
            let answer = ok::<Message>(st, path, fixtures::rest_message(&msg));
            if answer.status == 200 {
                st.store_message(cid, mid, msg.clone());
                echo(shared, st, "MESSAGE_UPDATE", msg);
            }
            answer
        }
        ("DELETE", ["messages", mid]) => {
            let removed = parse_id(mid).and_then(|m| st.messages.get_mut(&cid).and_then(|c| c.remove(&m)));
            match removed {
                Some(_) => {
                    let d = json!({"id": mid, "channel_id": sid(cid), "guild_id": guild_sid});
                    echo(shared, st, "MESSAGE_DELETE", d);
                    Answer::no_content()
                }
                None => Answer::error(404, 10008, "Unknown Message"),
            }
        }
        ("POST", ["messages", "bulk-delete"]) => {
            let ids: Vec<u64> = body
                .get("messages")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().and_then(parse_id).or_else(|| v.as_u64())).collect())
                .unwrap_or_default();
            if !(2..=100).contains(&ids.len()) {
                return Answer::error(400, 50035, "Invalid Form Body (2..=100 messages)");
            }
            if let Some(c) = st.messages.get_mut(&cid) {
                for id in &ids {
                    c.remove(id);
                }
            }
            let d = json!({"ids": ids.iter().map(|i| sid(*i)).collect::<Vec<_>>(), "channel_id": sid(cid), "guild_id": guild_sid});
            echo(shared, st, "MESSAGE_DELETE_BULK", d);
            Answer::no_content()
        }
        ("POST", ["typing"]) => Answer::no_content(),
        ("PUT" | "DELETE", ["messages", mid, "reactions", ..]) => {
            if parse_id(mid).and_then(|m| st.messages.get(&cid).and_then(|c| c.get(&m))).is_none() {
                return Answer::error(404, 10008, "Unknown Message");
            }
            Answer::no_content()
        }
        ("GET", ["messages", _, "reactions", _]) => ok::<Vec<User>>(st, path, json!([])),
        _ => Answer::error(404, 0, "Unknown route (fake)"),
    }
}

fn message_kind_for(rec: &InteractionRecord) -> u8 {
    match (rec.kind, rec.command_type) {
        (2, 1) => 20,
        (2, _) => 23,
        _ => 0,
    }
}

fn interaction_callback(shared: &Shared, st: &mut State, iid: &str, token: &str, body: &Value) -> Answer {
    let world = &shared.world;
    let Some(mut rec) = st.interactions.get(token).cloned() else {
        return Answer::error(404, 10062, "Unknown interaction");
    };
    if Some(rec.id) != parse_id(iid) {
        return Answer::error(404, 10062, "Unknown interaction");
    }
    if rec.acknowledged {
        return Answer::error(400, 40060, "Interaction has already been acknowledged.");
    }
    if st.interaction_ack_deadline.is_some_and(|d| rec.created.elapsed() > d) {
        // Discord forgets an interaction that was not answered within 3 seconds.
        return Answer::error(404, 10062, "Unknown interaction");
    }
    let kind = body.get("type").and_then(Value::as_u64).unwrap_or(0);
    let data = body.get("data").cloned().unwrap_or_else(|| json!({}));
    let place = Place { channel_id: rec.channel_id, guild_id: rec.guild_id };
    match kind {
        4 | 5 => {
            let mut data = data;
            if kind == 5 {
                let flags = data.get("flags").and_then(Value::as_u64).unwrap_or(0) | 128;
                data = json!({"flags": flags});
            }
            let id = st.next_snowflake();
            let msg = fixtures::bot_message_json(world, id, &place, &data, message_kind_for(&rec), None);
            if let Err(e) = check_rest::<Message>(&fixtures::rest_message(&msg)) {
                st.problems.push(format!("interaction response message invalid: {e}"));
            }
            rec.original_id = Some(id);
            rec.original = Some(msg.clone());
            let ephemeral = msg.get("flags").and_then(Value::as_u64).unwrap_or(0) & 64 != 0;
            if !ephemeral {
                st.store_message(rec.channel_id, id, msg.clone());
                echo(shared, st, "MESSAGE_CREATE", msg);
            }
        }
        7 => {
            let target = rec.message_id.and_then(|m| st.messages.get(&rec.channel_id).and_then(|c| c.get(&m)).cloned());
            match target {
                Some(mut msg) => {
                    fixtures::apply_message_edit(&mut msg, &data);
                    let mid = rec.message_id.expect("message id");
                    st.store_message(rec.channel_id, mid, msg.clone());
                    echo(shared, st, "MESSAGE_UPDATE", msg);
                }
                None => st.problems.push(format!("UPDATE_MESSAGE for interaction {iid} without a stored message")),
            }
        }
        1 | 6 | 8 | 9 | 10 | 12 => {}
        _ => return Answer::error(400, 50035, "Invalid Form Body (interaction response type)"),
    }
    rec.acknowledged = true;
    st.interactions.insert(token.to_string(), rec);
    Answer::no_content()
}

fn webhook_routes(
    shared: &Shared,
    st: &mut State,
    path: &str,
    method: &str,
    token: &str,
    rest: &[&str],
    body: &Value,
) -> Answer {
    let world = &shared.world;
    let Some(mut rec) = st.interactions.get(token).cloned() else {
        return Answer::error(404, 10015, "Unknown Webhook");
    };
    let place = Place { channel_id: rec.channel_id, guild_id: rec.guild_id };
    let find = |st: &State, id: u64| -> Option<Value> {
        if rec.original_id == Some(id) {
            return rec.original.clone();
        }
        st.messages.get(&rec.channel_id).and_then(|c| c.get(&id)).cloned()
    };
    let answer = match (method, rest) {
        ("POST", []) => {
            if !rec.acknowledged {
                return Answer::error(404, 10015, "Unknown Webhook");
            }
            let id = st.next_snowflake();
            let msg = fixtures::bot_message_json(world, id, &place, body, message_kind_for(&rec), None);
            let answer = ok::<Message>(st, path, fixtures::rest_message(&msg));
            let ephemeral = msg.get("flags").and_then(Value::as_u64).unwrap_or(0) & 64 != 0;
            if answer.status == 200 && !ephemeral {
                st.store_message(rec.channel_id, id, msg.clone());
                echo(shared, st, "MESSAGE_CREATE", msg);
            }
            answer
        }
        (m, ["messages", which]) => {
            let id = if *which == "@original" { rec.original_id.or(rec.message_id) } else { parse_id(which) };
            let Some(id) = id else {
                return Answer::error(404, 10008, "Unknown Message");
            };
            let Some(mut msg) = find(st, id) else {
                return Answer::error(404, 10008, "Unknown Message");
            };
            let ephemeral = msg.get("flags").and_then(Value::as_u64).unwrap_or(0) & 64 != 0;
            match m {
                "GET" => ok::<Message>(st, path, fixtures::rest_message(&msg)),
                "PATCH" => {
                    fixtures::apply_message_edit(&mut msg, body);
                    if let Some(flags) = msg.get("flags").and_then(Value::as_u64) {
                        msg["flags"] = json!(flags & !128);
                    }
                    let answer = ok::<Message>(st, path, fixtures::rest_message(&msg));
                    if rec.original_id == Some(id) {
                        rec.original = Some(msg.clone());
                    }
                    if !ephemeral {
                        st.store_message(rec.channel_id, id, msg.clone());
                        echo(shared, st, "MESSAGE_UPDATE", msg);
                    }
                    answer
                }
                "DELETE" => {
                    if rec.original_id == Some(id) {
                        rec.original = None;
                    }
                    if let Some(c) = st.messages.get_mut(&rec.channel_id) {
                        c.remove(&id);
                    }
                    if !ephemeral {
                        let d = json!({"id": sid(id), "channel_id": sid(rec.channel_id), "guild_id": rec.guild_id.map(sid)});
                        echo(shared, st, "MESSAGE_DELETE", d);
                    }
                    Answer::no_content()
                }
                _ => Answer::error(405, 0, "405: Method Not Allowed"),
            }
        }
        _ => Answer::error(404, 0, "Unknown route (fake)"),
    };
    st.interactions.insert(token.to_string(), rec);
    answer
}
