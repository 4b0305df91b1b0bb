//! Bedside's commands: `/check` and the "Check with Bedside" message menu for drafts, `/tip` and
//! `/bedside status` for staff. Registered per guild when Bedside joins it (guild commands appear
//! at once); every answer is ephemeral except the tip itself.

use serenity::all::{
    ChannelId, CommandDataOptionValue, CommandInteraction, CommandOptionType, CommandType, ComponentInteraction,
    Context, CreateAttachment, CreateCommand, CreateCommandOption, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage,
};

use super::bot::{Bot, embed};
use super::deliver::with_retry;
use crate::notice;

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
            )),
    ]
}

/// Answers one command interaction.
pub async fn handle(bot: &Bot, ctx: &Context, command: &CommandInteraction) {
    let staff = bot.interaction_is_staff(command);
    let reply = match command.data.name.as_str() {
        CHECK => {
            let text = command
                .data
                .options
                .iter()
                .find(|o| o.name == "text")
                .and_then(|o| if let CommandDataOptionValue::String(s) = &o.value { Some(s.as_str()) } else { None })
                .unwrap_or_default();
            Reply::Embed(bot.check_draft(command.guild_id.map(|g| g.get()), text).await)
        }
        CHECK_MENU => {
            let target = command.data.target_id.and_then(|id| command.data.resolved.messages.get(&id.to_message_id()));
            match target {
                Some(message) => {
                    Reply::Embed(bot.check_draft(command.guild_id.map(|g| g.get()), &message.content).await)
                }
                None => Reply::Text("Bedside could not read that message.".to_string()),
            }
        }
        TIP if !staff => {
            Reply::Text("Sorry — `/tip` is for staff. If you have a question, ask away in the channel!".into())
        }
        TIP => match bot.next_tip() {
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
        BEDSIDE if command.data.options.first().is_some_and(|o| o.name == "report") => {
            let now = bot.now();
            let stale_after = bot.setup.config.stagnation.stale_after.as_secs();
            match bot.with_store(|s| s.report_data(now.saturating_sub(30 * 86_400), stale_after)) {
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
        BEDSIDE => Reply::Text(bot.status()),
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

/// Answers a button: the author's "Not a problem" on their DM, staff's Confirm / Dismiss on an
/// alert, and "Post this tip" on a stagnation reminder.
pub async fn handle_button(bot: &Bot, ctx: &Context, press: &ComponentInteraction) {
    let id = press.data.custom_id.as_str();
    let parts: Vec<&str> = id.split(':').collect();
    let now = bot.now();
    let text = match parts.as_slice() {
        ["dismiss", "author", message] => match message.parse::<u64>() {
            Ok(m) => match bot.with_store(|s| s.flag(m)) {
                Ok(Some(flag)) if flag.author_id == press.user.id.get() => {
                    let _ = bot.with_store(|s| s.dismiss(m, true, now));
                    tracing::info!(message_id = m, rules = ?flag.rules, "the author marked a flag not a problem");
                    "Thanks — noted as not a problem. Staff use this to tune Bedside's rules.".to_string()
                }
                Ok(Some(_)) => "Only the author of the message can do that.".to_string(),
                _ => "Bedside no longer has this flag (it may have been purged).".to_string(),
            },
            Err(_) => "Bedside did not understand that button.".to_string(),
        },
        ["dismiss", "staff", message] | ["confirm", message] => {
            let is_staff = bot.interaction_is_staff_member(press.guild_id, press.member.as_ref());
            match (message.parse::<u64>(), is_staff) {
                (_, false) => "Sorry — that is for staff.".to_string(),
                (Ok(m), true) if parts[0] == "confirm" => {
                    let _ = bot.with_store(|s| s.set_flag_status(m, "confirmed", now));
                    "Confirmed.".to_string()
                }
                (Ok(m), true) => {
                    let _ = bot.with_store(|s| s.dismiss(m, false, now));
                    "Dismissed — noted per rule for tuning.".to_string()
                }
                (Err(_), true) => "Bedside did not understand that button.".to_string(),
            }
        }
        ["tip", channel, tip_id] => {
            let is_staff = bot.interaction_is_staff_member(press.guild_id, press.member.as_ref());
            let tip = bot.setup.config.tips.tips.iter().find(|t| t.id == *tip_id);
            match (channel.parse::<u64>(), tip, is_staff) {
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
