//! Bedside's commands: `/check` and the "Check with Bedside" message menu for drafts, `/tip`,
//! `/bedside status`, `/bedside report` and `/bedside reload` for staff. Registered per guild when
//! Bedside joins it (guild commands appear at once); every answer is ephemeral except the tip itself.
//!
//! Commands are handed a [`Desk`]: the few things they ask of the running bot. They never see the
//! bot itself, its handlers or its view of the guilds.

use std::future::Future;

use serenity::all::{
    ChannelId, CommandDataOptionValue, CommandInteraction, CommandOptionType, CommandType, ComponentInteraction,
    Context, CreateAttachment, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, GuildId, Member,
};

use super::deliver::with_retry;
use super::embed::embed;
use super::reload::Reloaded;
use crate::notice;
use crate::setup::Setup;
use crate::store::Store;

/// What commands ask of the running bot.
pub trait Desk: Send + Sync {
    /// Whether `member` of `guild` is staff (`false` outside a guild).
    fn is_staff(&self, guild: Option<GuildId>, member: Option<&Member>) -> bool;
    /// The answer to a staff draft, found in `guild`'s turn on the analysis thread (`None`: a DM).
    fn check_draft(&self, guild: Option<u64>, text: &str) -> impl Future<Output = notice::Notice> + Send;
    /// The next tip in rotation, if any are configured.
    fn next_tip(&self) -> Option<String>;
    /// What is configured and what Bedside has done since it started.
    fn status(&self) -> String;
    /// Re-reads the configuration directory; swaps it in, or keeps the running one and tells staff.
    fn reload(&self) -> impl Future<Output = Reloaded> + Send;
    /// The configuration running now.
    fn setup(&self) -> Setup;
    fn store(&self) -> &Store;
    /// Seconds since the Unix epoch, by the bot's clock.
    fn now(&self) -> u64;
}

pub const CHECK: &str = "check";
pub const CHECK_MENU: &str = "Check with Bedside";
pub const TIP: &str = "tip";
pub const BEDSIDE: &str = "bedside";

pub fn definitions() -> Vec<CreateCommand> {
    vec![
        CreateCommand::new(CHECK).description("Check a draft before you post it (only you see the answer)").add_option(
            CreateCommandOption::new(CommandOptionType::String, "text", "The draft to check").required(true),
        ),
        CreateCommand::new(CHECK_MENU).kind(CommandType::Message),
        CreateCommand::new(TIP).description("Post a vetted health tip in this channel (staff)"),
        CreateCommand::new(BEDSIDE)
            .description("Bedside for staff")
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "status",
                "What Bedside is configured to do and has done since it started",
            ))
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "report",
                "The last 30 days: posts, flags by rule, feedback, quiet channels (with a chart)",
            ))
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "reload",
                "Re-read the configuration directory (problems are listed in the alert channel)",
            )),
    ]
}

/// Answers one command interaction.
pub async fn handle(desk: &impl Desk, ctx: &Context, command: &CommandInteraction) {
    let staff = desk.is_staff(command.guild_id, command.member.as_deref());
    let subcommand = command.data.options.first().map(|o| o.name.as_str());
    let reply = match command.data.name.as_str() {
        CHECK => {
            let text = command
                .data
                .options
                .iter()
                .find(|o| o.name == "text")
                .and_then(|o| if let CommandDataOptionValue::String(s) = &o.value { Some(s.as_str()) } else { None })
                .unwrap_or_default();
            Reply::Embed(desk.check_draft(command.guild_id.map(|g| g.get()), text).await)
        }
        CHECK_MENU => {
            let target = command.data.target_id.and_then(|id| command.data.resolved.messages.get(&id.to_message_id()));
            match target {
                Some(message) => {
                    Reply::Embed(desk.check_draft(command.guild_id.map(|g| g.get()), &message.content).await)
                }
                None => Reply::Text("Bedside could not read that message.".to_string()),
            }
        }
        TIP if !staff => {
            Reply::Text("Sorry — `/tip` is for staff. If you have a question, ask away in the channel!".into())
        }
        TIP => match desk.next_tip() {
            Some(tip) => {
                let post = with_retry("post tip", || {
                    command.channel_id.send_message(&ctx.http, CreateMessage::new().content(&tip))
                })
                .await;
                match post {
                    Ok(_) => Reply::Text("Posted a tip in this channel.".into()),
                    Err(e) => {
                        tracing::warn!(channel = command.channel_id.get(), error = %e, "could not post a tip");
                        Reply::Text("Bedside could not post here (check its permissions in this channel).".into())
                    }
                }
            }
            None => Reply::Text("There are no tips configured (config/tips.toml).".into()),
        },
        BEDSIDE if !staff => Reply::Text("Sorry — `/bedside` is for staff.".into()),
        BEDSIDE if subcommand == Some("report") => {
            let now = desk.now();
            let stale_after = desk.setup().config.stagnation.stale_after.as_secs();
            match desk.store().report_data(now.saturating_sub(30 * 86_400), stale_after) {
                Ok(data) => {
                    let report = crate::report::build(&data, now);
                    Reply::Report(report.to_markdown(), report.chart_svg())
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not read the store for a report");
                    Reply::Text("Bedside could not read its store for a report; see its logs.".into())
                }
            }
        }
        BEDSIDE if subcommand == Some("reload") => {
            tracing::info!(user = command.user.id.get(), "a configuration reload was asked for");
            Reply::Text(desk.reload().await.reply())
        }
        BEDSIDE => Reply::Text(desk.status()),
        other => {
            tracing::warn!(command = other, "unknown command");
            Reply::Text("Bedside does not know that command.".into())
        }
    };
    let message = match reply {
        Reply::Text(text) => CreateInteractionResponseMessage::new().content(text),
        Reply::Embed(n) => CreateInteractionResponseMessage::new().embed(embed(&n)),
        Reply::Report(markdown, svg) => CreateInteractionResponseMessage::new()
            .content(clip_message(&markdown))
            .add_file(CreateAttachment::bytes(svg.into_bytes(), "bedside-report.svg")),
    }
    .ephemeral(true);
    if let Err(e) = command.create_response(&ctx.http, CreateInteractionResponse::Message(message)).await {
        tracing::warn!(interaction = command.id.get(), error = %e, "could not answer a command");
    }
}

enum Reply {
    Text(String),
    Embed(notice::Notice),
    /// The report's Markdown and its chart.
    Report(String, String),
}

/// Discord's message limit is 2,000 characters.
fn clip_message(s: &str) -> String {
    if s.chars().count() <= 2000 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(1990).collect();
    out.push_str("\n…");
    out
}

/// A store error behind a button, logged with the ids, and told to whoever pressed it.
fn not_saved(message: u64, what: &str, e: &crate::store::StoreError) -> String {
    tracing::error!(message_id = message, what, error = %e, "a store error while answering a button");
    "Bedside could not save that just now — please try again in a moment.".to_string()
}

/// Answers a button: the author's "Not a problem" on their DM, staff's Confirm / Dismiss on an
/// alert, and "Post this tip" on a stagnation reminder.
pub async fn handle_button(desk: &impl Desk, ctx: &Context, press: &ComponentInteraction) {
    let id = press.data.custom_id.as_str();
    let parts: Vec<&str> = id.split(':').collect();
    let now = desk.now();
    let store = desk.store();
    let text = match parts.as_slice() {
        ["dismiss", "author", message] => match message.parse::<u64>() {
            Ok(m) => match store.flag(m) {
                Ok(Some(flag)) if flag.author_id == press.user.id.get() => match store.dismiss(m, true, now) {
                    Ok(_) => {
                        tracing::info!(message_id = m, rules = %flag.rules.join(","), "the author marked a flag not a problem");
                        "Thanks — noted as not a problem. Staff use this to tune Bedside's rules.".to_string()
                    }
                    Err(e) => not_saved(m, "dismissal by the author", &e),
                },
                Ok(Some(_)) => "Only the author of the message can do that.".to_string(),
                Ok(None) => "Bedside no longer has this flag (it may have been purged).".to_string(),
                Err(e) => not_saved(m, "read of the flag", &e),
            },
            Err(_) => "Bedside did not understand that button.".to_string(),
        },
        ["dismiss", "staff", message] | ["confirm", message] => {
            let is_staff = desk.is_staff(press.guild_id, press.member.as_ref());
            match (message.parse::<u64>(), is_staff) {
                (_, false) => "Sorry — that is for staff.".to_string(),
                (Ok(m), true) if parts[0] == "confirm" => match store.set_flag_status(m, "confirmed", now) {
                    Ok(_) => "Confirmed.".to_string(),
                    Err(e) => not_saved(m, "confirmation", &e),
                },
                (Ok(m), true) => match store.dismiss(m, false, now) {
                    Ok(_) => "Dismissed — noted per rule for tuning.".to_string(),
                    Err(e) => not_saved(m, "dismissal by staff", &e),
                },
                (Err(_), true) => "Bedside did not understand that button.".to_string(),
            }
        }
        ["tip", channel, tip_id] => {
            let is_staff = desk.is_staff(press.guild_id, press.member.as_ref());
            let setup = desk.setup();
            let tip = setup.config.tips.tips.iter().find(|t| t.id == *tip_id);
            // A channel id of 0 would make serenity panic; Bedside never writes one, but a button's id is input.
            match (channel.parse::<u64>().ok().filter(|c| *c > 0).ok_or(()), tip, is_staff) {
                (_, _, false) => "Sorry — that is for staff.".to_string(),
                (Ok(ch), Some(tip), true) => {
                    let post = with_retry("post tip", || {
                        ChannelId::new(ch).send_message(&ctx.http, CreateMessage::new().content(&tip.text))
                    })
                    .await;
                    match post {
                        Ok(_) => format!("Posted the tip in <#{ch}>."),
                        Err(e) => {
                            tracing::warn!(channel = ch, error = %e, "could not post a tip");
                            "Bedside could not post there (check its permissions).".to_string()
                        }
                    }
                }
                _ => "That tip is no longer configured.".to_string(),
            }
        }
        _ => "Bedside did not understand that button.".to_string(),
    };
    let reply = CreateInteractionResponseMessage::new().content(text).ephemeral(true);
    if let Err(e) = press.create_response(&ctx.http, CreateInteractionResponse::Message(reply)).await {
        tracing::warn!(interaction = press.id.get(), error = %e, "could not answer a button");
    }
}
