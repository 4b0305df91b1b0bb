//! The Discord shell: serenity 0.12 in, the core's decisions out.
//!
//! # Layout
//! - `analyst.rs`: the threads that run detection (two sets of regex caches, not one per worker).
//! - `bot.rs`: the bot's state and its event handlers (gather facts → `policy` decides → act), and
//!   the configuration it runs on, swapped whole on a reload.
//! - `clock.rs`, `counters.rs`: the time, and what Bedside has done since it started.
//! - `commands.rs`: `/check`, the "Check with Bedside" menu, `/tip`, `/bedside status|report|reload`;
//!   handed a `Desk`, not the bot.
//! - `deliver.rs`: REST calls with retries, and which failures are final.
//! - `embed.rs`: a notice as Discord shows it.
//! - `lanes.rs`: how many events are handled at once, per guild and in all.
//! - `post.rs`: what Bedside keeps of a message while it waits its turn.
//! - `outbox.rs`: delivers the recorded actions, fairly across guilds, with retries and fallbacks;
//!   handed a `Courier`, not the bot; `outbox/queue.rs`: what it has read of the store and started.
//! - `overflow.rs`: a runtime of its own for a crowded guild's work, so it waits behind nobody.
//! - `priority.rs`: a burst's threads run at a lower priority, so a quiet guild's go first.
//! - `reload.rs`: what a configuration reload did, and the notice that lists its problems.
//! - `schedule.rs`: stagnation reminders and the retention purge.
//! - this file: [`run`], which connects, reloads the configuration when [`Services::reload`] is
//!   rung, and stops cleanly when `shutdown` resolves.

mod analyst;
mod bot;
mod clock;
mod commands;
mod counters;
mod deliver;
mod embed;
mod lanes;
mod outbox;
mod overflow;
mod post;
mod priority;
mod reload;
mod schedule;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use serenity::all::{ClientBuilder, GatewayIntents, Http, HttpBuilder};
use tokio::sync::Notify;

pub use bot::{Bot, Overrides};
pub use clock::Clock;
pub use deliver::{DMS_CLOSED, Failure, classify};
pub use reload::Reloaded;

use crate::setup::Setup;
use crate::store::Store;

/// How to connect.
#[derive(Clone, Debug)]
pub struct Connection {
    pub token: String,
    /// A base URL that receives REST calls instead of Discord (an HTTP proxy, or a test server).
    /// serenity's own rate limiter is then off: the proxy owns rate limits.
    pub api_base: Option<String>,
    /// How many gateway connections (shards) to open; `None`: as many as Discord recommends (one
    /// below 1,000 servers). Each shard carries its own servers' events, so a burst in one server
    /// is read apart from the servers on the other shards.
    pub shards: Option<u32>,
}

/// What the bot keeps and how it tells time.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<Store>,
    /// Seconds since the Unix epoch; tests move it to reach a stale channel without waiting.
    pub clock: Clock,
    /// Rung to read the configuration directory again: on SIGHUP in `bedside run`, or by a test.
    pub reload: Arc<Notify>,
}

impl Services {
    pub fn new(store: Arc<Store>) -> Services {
        Services { store, clock: clock::system_clock(), reload: Arc::new(Notify::new()) }
    }
}

/// The gateway intents Bedside needs. Message content is privileged: enable it in the developer
/// portal (Bot → Privileged Gateway Intents).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::DIRECT_MESSAGES
}

/// A REST client for `connection`: through the proxy, whose rate limits then apply, or to
/// Discord with serenity's own rate limiter.
fn rest_client(connection: &Connection) -> Http {
    match &connection.api_base {
        Some(base) => {
            HttpBuilder::new(&connection.token).proxy(base.trim_end_matches('/')).ratelimiter_disabled(true).build()
        }
        None => HttpBuilder::new(&connection.token).build(),
    }
}

/// Runs the bot until `shutdown` resolves (or the connection fails for good).
pub async fn run(
    setup: Setup,
    connection: Connection,
    overrides: Overrides,
    services: Services,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let http = rest_client(&connection);
    let overflow = overflow::Overflow::start().context("starting the overflow runtime")?;
    let bot = Bot::new(setup, overrides, services.store, services.clock, overflow.handle())
        .context("starting the analysis thread")?;
    let bot = Arc::new(bot);
    let mut client = ClientBuilder::new_with_http(http, intents())
        .event_handler(bot::Handler::new(bot.clone()))
        .await
        .context("building the Discord client")?;
    // Guilds, channels, threads and roles as serenity's cache keeps them (no messages: its
    // message cache stays at its default of none).
    bot.use_cache(client.cache.clone());
    let shards = client.shard_manager.clone();
    // A crowded guild's deliveries run on the overflow runtime, and with a proxy they also get a
    // REST client of their own. A client keeps its connections in a pool, and each connection's
    // reads and writes run on the runtime that opened it: with one client, a quiet guild's call
    // could go out on a connection the flood opened, and wait for the overflow runtime's turn to
    // write it (measured in the load run: the REST call's way to the fake, p50 2.5 → 0.4 ms).
    // Without a proxy, serenity's rate limiter lives in the client and must see every call, so
    // there is one client.
    let crowded_http = match connection.api_base {
        Some(_) => Arc::new(rest_client(&connection)),
        None => client.http.clone(),
    };
    // What was decided but not delivered before a restart goes out now.
    let outbox = outbox::Clients { http: client.http.clone(), crowded: crowded_http };
    let delivery = tokio::spawn(outbox::run(bot.courier(), outbox, bot.wake.clone()));
    let chores = tokio::spawn(schedule::run(bot.clone()));
    let reloads = tokio::spawn({
        let (bot, bell) = (bot.clone(), services.reload.clone());
        async move {
            loop {
                bell.notified().await;
                // The outcome is logged, and problems are posted for staff, by `reload` itself.
                let _ = bot.reload().await;
            }
        }
    });
    let mut connection = tokio::spawn(async move {
        match connection.shards {
            Some(shards) => client.start_shards(shards).await,
            None => client.start_autosharded().await,
        }
    });
    let ended = tokio::select! {
        () = shutdown => {
            tracing::info!("shutting down");
            shards.shutdown_all().await;
            let _ = connection.await;
            Ok(())
        }
        ended = &mut connection => match ended {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e).context("the Discord connection ended"),
            Err(e) => Err(e).context("the Discord connection task failed"),
        },
    };
    delivery.abort();
    chores.abort();
    reloads.abort();
    drop(overflow);
    crate::logs::report_withheld();
    ended
}
