//! Runs the Bedside bot against the fake Discord in a test, and stops it cleanly: the harness
//! shared by the live-bot, durability and load tests.

use std::time::Duration;

use bedside::discord::{Connection, Overrides, Services};
use bedside::setup::Setup;
use tokio::sync::oneshot;

use super::fake_discord::{APPLICATION_ID, FakeDiscord, GUILD_ID, RecordedRequest};

const WAIT: Duration = Duration::from_secs(15);

/// A running bot, stopped by [`Running::stop`].
pub struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Asks the bot to shut down and checks it ended cleanly.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(WAIT, self.task).await.expect("bot stops in time").expect("bot task");
        ended.expect("bot ends cleanly");
    }
}

/// Starts `bedside::discord::run` against the fake, through the same `api_base` path that
/// `BEDSIDE_DISCORD_API` gives users, and waits until it has identified and registered its commands
/// in the main guild.
pub async fn start_bot(fake: &FakeDiscord, setup: Setup, overrides: Overrides, services: Services) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let connection = Connection { token: fake.token().to_string(), api_base: Some(fake.api_base()), shards: None };
    let task = tokio::spawn(bedside::discord::run(setup, connection, overrides, services, async {
        let _ = stopped.await;
    }));
    wait_connected(fake).await;
    Running { stop, task }
}

/// Waits until a bot (in this process or its own) has identified with the fake and registered its
/// commands in the main guild.
pub async fn wait_connected(fake: &FakeDiscord) {
    fake.wait_ready(WAIT).await.expect("bot identified");
    let commands = format!("/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands");
    fake.wait_for_request(|r| r.is("PUT", &commands), WAIT).await.expect("commands registered");
}

/// Matches a `POST /channels/{channel}/messages`: a message the bot sent there.
pub fn posts_to(channel: u64) -> impl Fn(&RecordedRequest) -> bool {
    let path = format!("/channels/{channel}/messages");
    move |r| r.is("POST", &path)
}

/// The message a staff share (or an alert) links to: its embed's jump link's last part.
pub fn shared_message(r: &RecordedRequest) -> Option<u64> {
    let text = r.body.as_ref()?.get("embeds")?.to_string();
    let at = text.find("https://discord.com/channels/")?;
    let link = &text[at..];
    let link = &link[..link.find(['"', ' ', ')']).unwrap_or(link.len())];
    link.rsplit('/').next()?.parse().ok()
}
