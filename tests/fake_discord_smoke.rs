//! Smoke tests of the fake Discord with a plain serenity `Client` + `EventHandler` (not the
//! Bedside bot): connect/READY/GUILD_CREATE, messages in and out, scripted REST errors, an enforced
//! nonce, gateway drop + RESUME (+ re-delivery), interactions, refusal of invalid dispatches, edits
//! and history paging; and the fake gateway itself, with a bare WebSocket client: heartbeats read
//! while its writer waits on a full socket, closing handshakes and drops. Every wait has a timeout.
//! The fake's own unit tests (`fake_discord_smoke/units.rs`) run here too, and only here.

mod support;
#[path = "fake_discord_smoke/units.rs"]
mod units;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use serenity::all::{
    ApplicationId, Cache, ChannelId, ClientBuilder, Command, CommandDataOptionValue, CommandOptionType, CommandType,
    Context, CreateActionRow, CreateButton, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, EditInteractionResponse, EventHandler, GatewayIntents,
    GetMessages, Guild, GuildId, Http, HttpBuilder, Interaction, Message, MessageId, MessageUpdateEvent, Nonce,
    ReactionType, Ready, ShardManager, UserId,
};
use serenity::http::{HttpError, StatusCode};
use support::fake_discord::*;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Overall guard: a test that somehow waits forever fails instead of hanging.
async fn within<F: Future<Output = ()>>(limit: Duration, f: F) {
    tokio::time::timeout(limit, f).await.expect("test exceeded its overall time limit");
}

#[derive(Clone, Debug)]
enum Ev {
    Ready(Box<Ready>),
    GuildCreate(Box<Guild>),
    Message(Box<Message>),
    MessageUpdate(Box<MessageUpdateEvent>),
    Interaction(Box<Interaction>),
}

/// Records every event; answers "!ping" with "pong" and the slash command "triage" with an
/// ephemeral reply, so tests can observe REST traffic caused by handlers.
struct Recorder {
    tx: mpsc::UnboundedSender<Ev>,
}

#[serenity::async_trait]
impl EventHandler for Recorder {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.tx.send(Ev::Ready(Box::new(ready)));
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _ = self.tx.send(Ev::GuildCreate(Box::new(guild)));
    }

    async fn message(&self, ctx: Context, msg: Message) {
        if msg.content == "!ping" && !msg.author.bot {
            if let Err(e) = msg.channel_id.say(&ctx.http, "pong").await {
                eprintln!("reply failed: {e}");
            }
        }
        let _ = self.tx.send(Ev::Message(Box::new(msg)));
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<Message>,
        _new: Option<Message>,
        event: MessageUpdateEvent,
    ) {
        let _ = self.tx.send(Ev::MessageUpdate(Box::new(event)));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match &interaction {
            Interaction::Command(cmd) if cmd.data.name == "triage" => {
                let reply = CreateInteractionResponseMessage::new()
                    .content("Thanks — a clinician will follow up in #ask-the-clinic.")
                    .ephemeral(true);
                if let Err(e) = cmd.create_response(&ctx.http, CreateInteractionResponse::Message(reply)).await {
                    eprintln!("interaction reply failed: {e}");
                }
            }
            Interaction::Command(cmd) if cmd.data.name == "Flag for staff" => {
                // Defer (ephemeral), then fill in the original response.
                let result = async {
                    cmd.defer_ephemeral(&ctx.http).await?;
                    cmd.edit_response(&ctx.http, EditInteractionResponse::new().content("Flagged for staff review."))
                        .await
                }
                .await;
                if let Err(e) = result {
                    eprintln!("flag failed: {e}");
                }
            }
            Interaction::Component(click) if click.data.custom_id.starts_with("answered:") => {
                let update = CreateInteractionResponseMessage::new().content("Marked as answered.").components(vec![]);
                if let Err(e) = click.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(update)).await
                {
                    eprintln!("update failed: {e}");
                }
            }
            _ => {}
        }
        let _ = self.tx.send(Ev::Interaction(Box::new(interaction)));
    }
}

/// Events received by the handler, with "wait for the next matching one".
struct Events {
    rx: mpsc::UnboundedReceiver<Ev>,
    pending: VecDeque<Ev>,
}

impl Events {
    /// The first not-yet-taken event for which `f` is `Some` (waiting up to `timeout`).
    async fn next<T>(&mut self, what: &str, timeout: Duration, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
        if let Some(pos) = self.pending.iter().position(|e| f(e).is_some()) {
            let ev = self.pending.remove(pos).expect("pending event");
            return f(&ev).expect("matched");
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => match f(&ev) {
                    Some(v) => return v,
                    None => self.pending.push_back(ev),
                },
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => {
                    panic!("timed out after {timeout:?} waiting for {what}; other events: {:?}", self.pending.len())
                }
            }
        }
    }

    /// How many events matching `pred` arrive (or are pending) during `window`; takes them.
    async fn count_during(&mut self, window: Duration, pred: impl Fn(&Ev) -> bool) -> usize {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.pending.push_back(ev);
        }
        let before = self.pending.len();
        self.pending.retain(|e| !pred(e));
        before - self.pending.len()
    }

    async fn message_with(&mut self, content: &str, timeout: Duration) -> Message {
        self.next(&format!("message {content:?}"), timeout, |e| match e {
            Ev::Message(m) if m.content == content => Some((**m).clone()),
            _ => None,
        })
        .await
    }
}

struct Bot {
    events: Events,
    http: Arc<Http>,
    cache: Arc<Cache>,
    shards: Arc<ShardManager>,
    task: tokio::task::JoinHandle<()>,
}

fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MEMBERS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// Build the client exactly like Bedside does (proxy + ratelimiter disabled), start it, and
/// wait until the fake has sent READY and the GUILD_CREATEs.
async fn start_bot(fake: &FakeDiscord) -> Bot {
    start_bot_with(fake, intents()).await
}

async fn start_bot_with(fake: &FakeDiscord, intents: GatewayIntents) -> Bot {
    let http = HttpBuilder::new(fake.token()).proxy(fake.api_base()).ratelimiter_disabled(true).build();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(Recorder { tx })
        .await
        .expect("build serenity client");
    let http = client.http.clone();
    let cache = client.cache.clone();
    let shards = client.shard_manager.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = client.start().await {
            eprintln!("client stopped: {e}");
        }
    });
    fake.wait_ready(secs(10)).await.expect("fake never got IDENTIFY / sent READY");
    let mut events = Events { rx, pending: VecDeque::new() };
    let me = events
        .next("ready", secs(5), |e| match e {
            Ev::Ready(r) => Some(r.user.id),
            _ => None,
        })
        .await;
    assert_eq!(me.get(), BOT_USER_ID);
    events
        .next("guild_create of the main guild", secs(5), |e| match e {
            Ev::GuildCreate(g) if g.id.get() == GUILD_ID => Some(()),
            _ => None,
        })
        .await;
    Bot { events, http, cache, shards, task }
}

impl Bot {
    async fn stop(self, fake: FakeDiscord) {
        let _ = tokio::time::timeout(secs(3), self.shards.shutdown_all()).await;
        self.task.abort();
        let problems = fake.problems();
        fake.shutdown().await;
        assert!(problems.is_empty(), "fake recorded problems: {problems:#?}");
    }
}

/// 1. READY + GUILD_CREATE reach the handler and the cache; a posted message arrives with
///    content, author and member roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_receives_guild_and_message() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        fake.set_heartbeat_interval(Duration::from_millis(250));
        let mut bot = start_bot(&fake).await;
        assert_eq!(fake.identify_count(), 1);
        assert_eq!(fake.intents(), Some(intents()));

        let guild = bot.cache.guild(GUILD_ID).expect("guild in cache").clone();
        assert_eq!(guild.name, "Maple Grove Health Community");
        let names: Vec<String> = guild.channels.values().map(|c| c.name.clone()).collect();
        for expected in ["announcements", "ask-the-clinic", "general", "staff-alerts", "Community", "Staff"] {
            assert!(names.iter().any(|n| n == expected), "missing channel {expected} in {names:?}");
        }
        assert_eq!(guild.threads.len(), 1);
        assert!(guild.members.contains_key(&UserId::new(BOT_USER_ID)));
        assert!(guild.roles[&ROLE_MODERATOR.into()].permissions.manage_messages());
        // The second guild's GUILD_CREATE follows the first; the cache has it once its event is seen.
        bot.events
            .next("guild_create of the other guild", secs(5), |e| match e {
                Ev::GuildCreate(g) if g.id.get() == OTHER_GUILD_ID => Some(()),
                _ => None,
            })
            .await;
        assert!(bot.cache.guild(OTHER_GUILD_ID).is_some(), "second guild missing from cache");

        let id = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "Flu shots are in!"))
            .await
            .expect("post");
        let msg = bot.events.message_with("Flu shots are in!", secs(5)).await;
        assert_eq!(msg.id, id);
        assert_eq!(msg.author.id.get(), USER_PRIYA_RAMAN);
        assert_eq!(msg.author.name, "dr.priya.raman");
        assert_eq!(msg.guild_id.map(|g| g.get()), Some(GUILD_ID));
        let roles: Vec<u64> = msg.member.as_ref().expect("member").roles.iter().map(|r| r.get()).collect();
        assert_eq!(roles, vec![ROLE_STAFF, ROLE_CLINICIAN]);

        // A DM: no guild, no member.
        let dm = fake.dm_channel(USER_PATIENT_C);
        fake.post_message(MessageSpec::new(dm, USER_PATIENT_C, "is the clinic open?")).await.expect("dm");
        let msg = bot.events.message_with("is the clinic open?", secs(5)).await;
        assert!(msg.guild_id.is_none() && msg.member.is_none());

        // Heartbeats are ACKed: serenity keeps the one connection.
        fake.wait_for_heartbeats(2, secs(5)).await.expect("heartbeats");
        assert_eq!(fake.connection_count(), 1);
        bot.stop(fake).await;
    })
    .await;
}

/// 2. The handler's `channel_id.say` becomes a recorded `POST /channels/{id}/messages`, and
///    Discord's echo of the bot's own message comes back as MESSAGE_CREATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_reply_is_recorded() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        fake.post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "!ping")).await.expect("post");
        let path = format!("/channels/{CH_GENERAL}/messages");
        let req = fake.wait_for_request(|r| r.is("POST", &path), secs(5)).await.expect("bot reply request");
        assert_eq!(req.json_field("content"), Some(&json!("pong")));
        assert_eq!(req.status, Some(200));
        assert_eq!(req.header("authorization"), Some(format!("Bot {}", fake.token()).as_str()));
        let echo = bot.events.message_with("pong", secs(5)).await;
        assert_eq!(echo.author.id.get(), BOT_USER_ID);
        assert!(echo.author.bot);
        assert_eq!(fake.channel_messages(CH_GENERAL).len(), 2);
        bot.stop(fake).await;
    })
    .await;
}

/// 3. Scripted 429 then success; scripted 50007 as a Discord JSON error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_rate_limit_and_discord_error() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let http = fake.http(); // REST only; no gateway needed
        fake.script(
            "POST",
            "/channels/*/messages",
            vec![Scripted::status(429).json(json!({
                "message": "You are being rate limited.", "retry_after": 0.25, "global": false
            }))],
        );
        let channel = ChannelId::new(CH_HEALTH_TIPS);
        let err = channel.say(&http, "Drink water").await.expect_err("first call is rate limited");
        let serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) = &err else {
            panic!("expected an unsuccessful request, got {err:?}");
        };
        assert_eq!(resp.status_code, StatusCode::TOO_MANY_REQUESTS);
        // serenity 0.12.5 keeps neither the headers nor `retry_after` in its error: the body
        // has no `code`, so `error.code` is -1 and the message is a decode note. The fake did
        // send both (see the recorded request / headers in the report).
        assert_eq!(resp.error.code, -1);
        let rl = fake.requests().into_iter().find(|r| r.status == Some(429)).expect("recorded 429");
        assert_eq!(rl.path, format!("/channels/{CH_HEALTH_TIPS}/messages"));
        let ok = channel.say(&http, "Drink water").await.expect("second call succeeds");
        assert_eq!(ok.content, "Drink water");

        fake.script(
            "POST",
            "/channels/*/messages",
            vec![Scripted::discord_error(403, 50007, "Cannot send messages to this user")],
        );
        let err = UserId::new(USER_PATIENT_B)
            .direct_message(&http, CreateMessage::new().content("Your appointment is confirmed."))
            .await
            .expect_err("DMs closed");
        match &err {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(resp)) if resp.error.code == 50007 => {
                assert_eq!(resp.status_code, StatusCode::FORBIDDEN);
                assert_eq!(resp.error.message, "Cannot send messages to this user");
            }
            other => panic!("expected Discord error 50007, got {other:?}"),
        }
        assert!(fake.requests().iter().any(|r| r.is("POST", "/users/@me/channels")));
        let problems = fake.problems();
        fake.shutdown().await;
        assert!(problems.is_empty(), "{problems:?}");
    })
    .await;
}

/// 3b. Like Discord, a send with a nonce already used in the channel and `enforce_nonce` gets the
///     first message back and makes none; another nonce, or no `enforce_nonce`, makes a new one,
///     and a deleted message frees its nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enforced_nonce_posts_once() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let http = fake.http(); // REST only; no gateway needed
        let channel = ChannelId::new(CH_HEALTH_TIPS);
        let tip = |nonce: u64| CreateMessage::new().content("Floss daily").nonce(Nonce::Number(nonce));
        let first = channel.send_message(&http, tip(41).enforce_nonce(true)).await.expect("sent");
        let again = channel.send_message(&http, tip(41).enforce_nonce(true)).await.expect("answered");
        assert_eq!(again.id, first.id, "the first message comes back");
        assert_eq!(fake.channel_messages(CH_HEALTH_TIPS).len(), 1, "and no second one is made");
        let path = format!("/channels/{CH_HEALTH_TIPS}/messages");
        let sends = fake.requests().iter().filter(|r| r.is("POST", &path) && r.status == Some(200)).count();
        assert_eq!(sends, 2, "both sends were answered");

        channel.delete_message(&http, first.id).await.expect("deleted");
        let after = channel.send_message(&http, tip(41).enforce_nonce(true)).await.expect("sent");
        assert_ne!(after.id, first.id, "a deleted message's nonce is free");
        channel.send_message(&http, tip(41)).await.expect("sent");
        channel.send_message(&http, tip(42).enforce_nonce(true)).await.expect("sent");
        assert_eq!(fake.channel_messages(CH_HEALTH_TIPS).len(), 3, "not enforced, or another nonce: new messages");
        let problems = fake.problems();
        fake.shutdown().await;
        assert!(problems.is_empty(), "{problems:?}");
    })
    .await;
}

/// 4. Dropped gateway: serenity RESUMEs (no new IDENTIFY), a message dispatched while down or
///    after the resume arrives exactly once; with `set_replay_on_resume` it arrives again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_gateway_resumes_and_can_redeliver() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;

        fake.drop_gateway().await;
        // Dispatched while disconnected: buffered, replayed on RESUME.
        fake.post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_B, "sent during the outage"))
            .await
            .expect("buffered");
        fake.wait_resumed(1, secs(10)).await.expect("serenity resumed");
        assert_eq!(fake.resume_count(), 1);
        assert_eq!(fake.identify_count(), 1);
        bot.events.message_with("sent during the outage", secs(5)).await;

        let seq = fake
            .post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "after resume"))
            .await
            .map(|_| fake.last_seq())
            .expect("post");
        bot.events.message_with("after resume", secs(5)).await;
        let dupes = bot
            .events
            .count_during(Duration::from_millis(300), |e| matches!(e, Ev::Message(m) if m.content == "after resume"))
            .await;
        assert_eq!(dupes, 0, "delivered more than once");

        // Re-delivery: Discord may send an already-delivered dispatch again after RESUME.
        fake.set_replay_on_resume(Some(seq));
        fake.drop_gateway().await;
        fake.wait_resumed(2, secs(10)).await.expect("second resume");
        let again = bot.events.message_with("after resume", secs(5)).await;
        assert_eq!(again.author.id.get(), USER_PATIENT_A);
        assert_eq!(fake.identify_count(), 1);
        bot.stop(fake).await;
    })
    .await;
}

/// 5. A slash command arrives as `Interaction::Command` with its options; the handler's
///    ephemeral reply is recorded as a type-4 callback with flags 64.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_command_and_ephemeral_reply() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        // `bot.http` learned the application id from READY.
        let registered = GuildId::new(GUILD_ID)
            .set_commands(&bot.http, vec![CreateCommand::new("triage").description("Route a question")])
            .await
            .expect("register");
        let iid = fake
            .slash_command(
                SlashSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_A, "triage")
                    .option(SlashOption::string("topic", "vaccines"))
                    .option(SlashOption::boolean("urgent", false)),
            )
            .await
            .expect("slash");
        let cmd = bot
            .events
            .next("triage command", secs(5), |e| match e {
                Ev::Interaction(i) => i.as_command().cloned(),
                _ => None,
            })
            .await;
        assert_eq!(cmd.id, iid);
        assert_eq!(cmd.data.name, "triage");
        assert_eq!(cmd.data.id, registered[0].id);
        assert_eq!(cmd.user.id.get(), USER_PATIENT_A);
        assert_eq!(cmd.data.options[0].name, "topic");
        assert_eq!(cmd.data.options[0].value, CommandDataOptionValue::String("vaccines".into()));
        assert_eq!(cmd.data.options[1].value, CommandDataOptionValue::Boolean(false));

        let token = fake.interaction_token(iid);
        let callback = format!("/interactions/{iid}/{token}/callback");
        let req = fake.wait_for_request(|r| r.is("POST", &callback), secs(5)).await.expect("callback");
        assert_eq!(req.status, Some(204));
        let body = req.body.expect("callback body");
        assert_eq!(body["type"], 4);
        assert_eq!(body["data"]["flags"], 64);
        // An ephemeral reply is not a channel message.
        assert!(fake.channel_messages(CH_ASK_THE_CLINIC).is_empty());

        // Too late: Discord forgets interactions not answered within 3 s (shortened here).
        // A zero deadline: any answer is late, whatever the machine's speed (a 1 ms one raced).
        fake.set_interaction_ack_deadline(Some(Duration::ZERO));
        let late = fake.slash_command(SlashSpec::new(CH_GENERAL, USER_PATIENT_B, "triage")).await.expect("slash");
        let callback = format!("/interactions/{late}/{}/callback", fake.interaction_token(late));
        let req = fake.wait_for_request(|r| r.is("POST", &callback), secs(5)).await.expect("late callback");
        assert_eq!(req.status, Some(404));
        bot.stop(fake).await;
    })
    .await;
}

/// 6. An invalid dispatch (MESSAGE_CREATE without `author`) is refused and never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_dispatch_is_refused() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        let seq_before = fake.last_seq();
        let err = fake
            .dispatch(
                "MESSAGE_CREATE",
                json!({
                    "id": "1300000000000000001", "channel_id": CH_GENERAL.to_string(),
                    "content": "no author", "timestamp": "2024-01-01T00:00:00+00:00",
                    "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
                    "attachments": [], "embeds": [], "pinned": false, "type": 0
                }),
            )
            .await
            .expect_err("must be refused");
        assert!(matches!(&err, FakeError::Invalid(m) if m.contains("author")), "{err}");
        assert_eq!(fake.last_seq(), seq_before, "nothing was sent");
        let seen = bot
            .events
            .count_during(Duration::from_millis(300), |e| matches!(e, Ev::Message(m) if m.content == "no author"))
            .await;
        assert_eq!(seen, 0);
        bot.stop(fake).await;
    })
    .await;
}

/// 7. MESSAGE_UPDATE arrives in `message_update`; history paging with `after` returns the
///    seeded messages in pages of at most `limit`, each page newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_and_history_paging() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        let id =
            fake.post_message(MessageSpec::new(CH_FEEDBACK, USER_PATIENT_B, "The wait was long")).await.expect("post");
        bot.events.message_with("The wait was long", secs(5)).await;
        fake.edit_message(CH_FEEDBACK, id, "The wait was long, but the staff were great").await.expect("edit");
        let update = bot
            .events
            .next("message_update", secs(5), |e| match e {
                Ev::MessageUpdate(u) if u.id == id => Some((**u).clone()),
                _ => None,
            })
            .await;
        assert_eq!(update.content.as_deref(), Some("The wait was long, but the staff were great"));
        assert!(update.edited_timestamp.is_some());

        // Posted while the bot was down: stored, never dispatched.
        let last_seen = id; // the newest message the bot saw before going down
        let seeded = fake
            .seed_history(
                CH_HEALTH_TIPS,
                (1..=5).map(|i| MessageSpec::new(CH_HEALTH_TIPS, USER_MODERATOR, format!("tip {i}"))).collect(),
            )
            .expect("seed");
        let mut after = last_seen;
        let mut fetched = vec![];
        loop {
            let page = ChannelId::new(CH_HEALTH_TIPS)
                .messages(&bot.http, GetMessages::new().after(after).limit(2))
                .await
                .expect("page");
            assert!(page.len() <= 2);
            if page.is_empty() {
                break;
            }
            assert!(page.windows(2).all(|w| w[0].id > w[1].id), "page not newest-first");
            after = page[0].id;
            fetched.extend(page.into_iter().rev());
        }
        let ids: Vec<MessageId> = fetched.iter().map(|m| m.id).collect();
        assert_eq!(ids, seeded);
        assert_eq!(fetched[0].content, "tip 1");
        assert!(fetched.iter().all(|m| m.guild_id.is_none()), "REST messages carry no guild_id");
        let pages = fake
            .requests()
            .into_iter()
            .filter(|r| r.is("GET", &format!("/channels/{CH_HEALTH_TIPS}/messages")))
            .count();
        assert_eq!(pages, 4); // 2 + 2 + 1 + empty
        let none = bot
            .events
            .count_during(Duration::from_millis(200), |e| matches!(e, Ev::Message(m) if m.content.starts_with("tip ")))
            .await;
        assert_eq!(none, 0, "seeded history must not be dispatched");
        bot.stop(fake).await;
    })
    .await;
}

/// 8. Button click → `Interaction::Component` (the handler updates the message: type 7);
///    message context-menu command → `Command` with the target in `resolved.messages` (the
///    handler defers ephemerally and edits `@original`); a second ack is refused (40060).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_click_and_message_command() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        let button = CreateButton::new("answered:yes").label("Yes, answered");
        let sent = ChannelId::new(CH_ASK_THE_CLINIC)
            .send_message(
                &bot.http,
                CreateMessage::new()
                    .content("Was your question answered?")
                    .components(vec![CreateActionRow::Buttons(vec![button])]),
            )
            .await
            .expect("bot message with a button");
        let iid =
            fake.button_click(ButtonSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_B, "answered:yes")).await.expect("click");
        let click = bot
            .events
            .next("component interaction", secs(5), |e| match e {
                Ev::Interaction(i) => i.as_message_component().cloned(),
                _ => None,
            })
            .await;
        assert_eq!(click.id, iid);
        assert_eq!(click.data.custom_id, "answered:yes");
        assert_eq!(click.message.id, sent.id);
        let update = bot
            .events
            .next("echoed MESSAGE_UPDATE", secs(5), |e| match e {
                Ev::MessageUpdate(u) if u.id == sent.id => Some((**u).clone()),
                _ => None,
            })
            .await;
        assert_eq!(update.content.as_deref(), Some("Marked as answered."));
        let callback = fake
            .wait_for_request(|r| r.matches("POST", "/interactions/*/*/callback"), secs(5))
            .await
            .expect("callback");
        assert_eq!(callback.body.as_ref().expect("body")["type"], 7);

        let question = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_C, "my chart number is 12345"))
            .await
            .expect("post");
        let iid = fake
            .message_command(MessageCommandSpec::new(
                CH_ASK_THE_CLINIC,
                USER_MODERATOR,
                "Flag for staff",
                question.get(),
            ))
            .await
            .expect("message command");
        let cmd = bot
            .events
            .next("message command", secs(5), |e| match e {
                Ev::Interaction(i) => i.as_command().filter(|c| c.id == iid).cloned(),
                _ => None,
            })
            .await;
        assert_eq!(cmd.data.kind, CommandType::Message);
        assert_eq!(cmd.data.target_id.map(|t| t.get()), Some(question.get()));
        assert_eq!(cmd.data.resolved.messages[&question].content, "my chart number is 12345");
        let token = fake.interaction_token(iid);
        let edit = format!("/webhooks/{APPLICATION_ID}/{token}/messages/@original");
        let req = fake.wait_for_request(|r| r.is("PATCH", &edit), secs(5)).await.expect("edit original");
        assert_eq!(req.status, Some(200));
        assert_eq!(req.json_field("content"), Some(&json!("Flagged for staff review.")));
        let defer = fake
            .wait_for_request(|r| r.is("POST", &format!("/interactions/{iid}/{token}/callback")), secs(1))
            .await
            .expect("defer");
        assert_eq!(defer.body.as_ref().expect("body")["type"], 5);
        assert_eq!(defer.body.as_ref().expect("body")["data"]["flags"], 64);

        let err = bot
            .http
            .create_interaction_response(iid, &token, &json!({"type": 4, "data": {"content": "again"}}), vec![])
            .await
            .expect_err("second ack");
        assert!(
            matches!(&err, serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.error.code == 40060),
            "{err:?}"
        );
        bot.stop(fake).await;
    })
    .await;
}

/// 9. Intents are applied like Discord: without MESSAGE_CONTENT guild messages arrive with
///    empty content unless they mention the bot; without DIRECT_MESSAGES a DM is not delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_are_enforced() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot_with(&fake, GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES).await;
        let id = fake.post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "secret words")).await.expect("post");
        let msg = bot
            .events
            .next("message without content", secs(5), |e| match e {
                Ev::Message(m) if m.id == id => Some((**m).clone()),
                _ => None,
            })
            .await;
        assert_eq!(msg.content, "");
        fake.post_message(
            MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "hey <@1180000000000000001>").mentions(&[BOT_USER_ID]),
        )
        .await
        .expect("mention");
        bot.events.message_with("hey <@1180000000000000001>", secs(5)).await;
        let dm = fake.dm_channel(USER_PATIENT_A);
        let err = fake.post_message(MessageSpec::new(dm, USER_PATIENT_A, "hello?")).await.expect_err("filtered");
        assert!(matches!(&err, FakeError::Filtered(m) if m.contains("DIRECT_MESSAGES")), "{err}");
        bot.stop(fake).await;
    })
    .await;
}

/// 10. A resumable close frame (4000) and op 7 RECONNECT also lead to RESUME, not IDENTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_frame_and_op7_resume() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let mut bot = start_bot(&fake).await;
        fake.close_gateway(4000).await;
        fake.wait_resumed(1, secs(10)).await.expect("resume after close 4000");
        fake.request_reconnect().await;
        fake.wait_resumed(2, secs(10)).await.expect("resume after op 7");
        fake.post_message(MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "still here")).await.expect("post");
        bot.events.message_with("still here", secs(5)).await;
        assert_eq!(fake.identify_count(), 1);
        bot.stop(fake).await;
    })
    .await;
}

/// 11. The default REST answers decode through serenity's real `Http` methods, commands
///     round-trip (and slash commands then carry the registered id), unknown routes are a
///     recorded 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_rest_routes_decode_in_serenity() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let http = fake.http();
        http.set_application_id(ApplicationId::new(APPLICATION_ID)); // normally set from READY
        let guild = GuildId::new(GUILD_ID);

        assert_eq!(http.get_current_user().await.expect("me").id.get(), BOT_USER_ID);
        assert_eq!(http.get_current_application_info().await.expect("app").id.get(), APPLICATION_ID);
        assert_eq!(http.get_gateway().await.expect("gateway").url, fake.gateway_url());
        assert_eq!(http.get_bot_gateway().await.expect("gateway/bot").shards, 1);
        assert_eq!(http.get_guild(guild).await.expect("guild").name, "Maple Grove Health Community");
        assert_eq!(http.get_guild_roles(guild).await.expect("roles").len(), 7);
        assert_eq!(http.get_channels(guild).await.expect("channels").len(), 9);
        let thread = http.get_channel(ChannelId::new(THREAD_ASK_THE_CLINIC)).await.expect("thread");
        assert_eq!(thread.guild().expect("guild channel").parent_id.map(|p| p.get()), Some(CH_ASK_THE_CLINIC));
        let member = http.get_member(guild, UserId::new(USER_MAYA_CHEN)).await.expect("member");
        assert_eq!(member.roles.len(), 2);
        assert_eq!(http.get_guild_members(guild, Some(100), None).await.expect("members").len(), 8);
        assert_eq!(http.get_user(UserId::new(USER_PATIENT_B)).await.expect("user").name, "pdx_gardener");
        let dm = UserId::new(USER_PATIENT_A).create_dm_channel(&http).await.expect("dm");
        assert_eq!(dm.id.get(), fake.dm_channel(USER_PATIENT_A));
        let sent = dm.id.say(&http, "Reminder: your appointment is tomorrow at 9:00.").await.expect("dm send");
        http.create_reaction(dm.id, sent.id, &ReactionType::Unicode("👍".into())).await.expect("react");
        http.broadcast_typing(dm.id).await.expect("typing");
        assert_eq!(http.get_message(dm.id, sent.id).await.expect("get").content, sent.content);
        http.delete_message(dm.id, sent.id, None).await.expect("delete");

        let triage = CreateCommand::new("triage")
            .description("Route a question to the right team")
            .add_option(CreateCommandOption::new(CommandOptionType::String, "topic", "What about?").required(true));
        let global = Command::set_global_commands(&http, vec![triage.clone()]).await.expect("global");
        let again = Command::set_global_commands(&http, vec![triage.clone()]).await.expect("global again");
        assert_eq!(global[0].id, again[0].id, "same name keeps its id");
        let guild_cmds = guild.set_commands(&http, vec![CreateCommand::new("Flag for staff").kind(CommandType::Message)]).await.expect("guild commands");
        assert_eq!(guild_cmds[0].guild_id, Some(guild));
        assert_eq!(http.get_global_commands().await.expect("list").len(), 1);
        assert_eq!(http.get_guild_commands(guild).await.expect("list").len(), 1);

        let err = http.get_guild_webhooks(guild).await.expect_err("not faked");
        assert!(matches!(&err, serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code == StatusCode::NOT_FOUND));
        let unknown = fake.requests().into_iter().find(|r| r.status == Some(404)).expect("recorded 404");
        assert_eq!(unknown.path, format!("/guilds/{GUILD_ID}/webhooks"));

        let problems = fake.problems();
        fake.shutdown().await;
        assert!(problems.is_empty(), "{problems:?}");
    })
    .await;
}

/// A bare WebSocket client of the fake gateway (no serenity): its own pace of reading.
type WsClient = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connect, read HELLO, IDENTIFY, and wait until READY and the GUILD_CREATEs are queued.
async fn identified(fake: &FakeDiscord) -> WsClient {
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/?v=10&encoding=json", fake.gateway_url())).await.expect("connect");
    let hello = match ws.next().await {
        Some(Ok(WsMessage::Text(t))) => serde_json::from_str::<serde_json::Value>(&t).expect("HELLO is JSON"),
        other => panic!("expected HELLO, got {other:?}"),
    };
    assert_eq!(hello["op"], 10, "HELLO first");
    let identify = json!({"op": 2, "d": {"token": fake.token(), "intents": 0, "properties": {}}});
    ws.send(WsMessage::Text(identify.to_string())).await.expect("IDENTIFY");
    fake.wait_ready(secs(5)).await.expect("ready");
    ws
}

/// 12. The fake reads a heartbeat as it arrives even while its writer waits on a full socket (so
///     the load run's heartbeat times are exact), and records when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_read_while_the_writer_waits_on_a_full_socket() {
    within(secs(20), async {
        let fake = FakeDiscord::start().await;
        let (mut to_fake, from_fake) = identified(&fake).await.split();
        // ~10 MB of dispatches the client does not read: more than both sockets' buffers hold.
        let pad = "x".repeat(100_000);
        for _ in 0..100 {
            fake.dispatch_unchecked("FAKE_FILLER", json!({ "pad": pad })).await.expect("dispatch");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(fake.unwritten_dispatches() > 0, "the writer waits on the full socket");
        let sent = std::time::Instant::now();
        to_fake.send(WsMessage::Text(json!({"op": 1, "d": null}).to_string())).await.expect("heartbeat");
        fake.wait_for_heartbeats(1, secs(5)).await.expect("the heartbeat is read while the writer waits");
        let times = fake.heartbeat_times();
        assert_eq!(times.len(), 1);
        assert!(times[0] >= sent, "its arrival time is when the reader read it");
        drop(from_fake);
        fake.shutdown().await;
    })
    .await;
}

/// 13. The fake gateway completes a client's closing handshake, closes with a code, and drops a
///     connection without a close frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_closing_handshakes_and_drops() {
    within(secs(30), async {
        let fake = FakeDiscord::start().await;

        let mut ws = identified(&fake).await;
        ws.close(None).await.expect("client close");
        let mut replied = false;
        while let Some(Ok(m)) = ws.next().await {
            replied |= matches!(m, WsMessage::Close(_));
        }
        assert!(replied, "the fake completes the closing handshake");
        fake.wait_disconnected(secs(5)).await.expect("the connection ends");

        let mut ws = identified(&fake).await;
        fake.close_gateway(4000).await;
        let mut code = None;
        while let Some(Ok(m)) = ws.next().await {
            if let WsMessage::Close(Some(f)) = m {
                code = Some(f.code);
            }
        }
        assert_eq!(code, Some(CloseCode::from(4000)));

        let mut ws = identified(&fake).await;
        fake.drop_gateway().await;
        let mut closed = false;
        while let Some(Ok(m)) = ws.next().await {
            closed |= matches!(m, WsMessage::Close(_));
        }
        assert!(!closed, "a drop sends no close frame");
        fake.shutdown().await;
    })
    .await;
}
