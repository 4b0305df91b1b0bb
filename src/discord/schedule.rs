//! Chores on a timer: stagnation reminders for quiet channels, and the retention purge.
//!
//! Every `stagnation.check_every`, the watched channels' activity is read from the store and
//! [`stagnation::due`](crate::stagnation::due) says which get a reminder; each reminder is recorded
//! with its outbox action in one transaction (so it is sent once, even across restarts). At most
//! once an hour, flags and acknowledgements older than `retention.retention_days` are purged, and
//! actions still pending after it are given up; an erasure a reader held up is retried at every check.

use std::sync::Arc;
use std::time::Duration;

use super::bot::Bot;
use super::outbox::Act;
use crate::notice::Notice;
use crate::stagnation::{self, ChannelActivity};

const PURGE_EVERY: u64 = 3600;

pub async fn run(bot: Arc<Bot>) {
    let mut last_purge = 0u64;
    let mut held_up = false;
    loop {
        // Read each time round: a reload may have changed it.
        let every = bot.live().setup.config.stagnation.check_every.max(Duration::from_millis(200));
        tokio::time::sleep(every).await;
        let now = bot.now();
        remind(&bot, now);
        if now.saturating_sub(last_purge) >= PURGE_EVERY {
            last_purge = now;
            let cutoff = now.saturating_sub(bot.live().setup.config.retention.retention.as_secs());
            match bot.with_store(|s| s.purge(cutoff, now)) {
                Ok(p) => tracing::info!(
                    flags = p.flags,
                    acknowledgements = p.acknowledgements,
                    outbox = p.outbox,
                    given_up = p.given_up,
                    "retention purge"
                ),
                // Tried again at the next check rather than in an hour.
                Err(e) => {
                    last_purge = 0;
                    tracing::error!(error = %e, "retention purge failed; trying again at the next check");
                }
            }
        }
        // An erasure whose checkpoint a reader held up is tried again until it truncates the WAL.
        match bot.with_store(|s| s.retry_erasure(now)) {
            Ok(true) if held_up => {
                held_up = false;
                tracing::info!("an erasure held up by a reader is complete: the WAL was truncated");
            }
            Ok(true) => {}
            Ok(false) if !held_up => {
                held_up = true;
                tracing::warn!("an erasure's WAL checkpoint is held up by a reader; trying again at each check");
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "could not retry an erasure's WAL checkpoint"),
        }
    }
}

fn remind(bot: &Bot, now: u64) {
    for (guild, channels) in bot.watched_channels() {
        let Some(staff_channel) = bot.reminder_channel(guild) else { continue };
        let activity: Vec<ChannelActivity> = channels
            .iter()
            .filter_map(|&channel| {
                let (last_staff_post_at, last_reminder_at) = bot
                    .with_store(|s| s.activity(channel))
                    .inspect_err(|e| tracing::error!(channel, error = %e, "could not read a channel's activity"))
                    .ok()?;
                Some(ChannelActivity { channel, last_staff_post_at, watched_since: bot.started(), last_reminder_at })
            })
            .collect();
        let used = match bot.with_store(|s| s.tips_used()) {
            Ok(used) => used,
            Err(e) => {
                tracing::error!(guild, error = %e, "could not read which tips were used; no reminders this time");
                continue;
            }
        };
        let live = bot.live();
        let config = &live.setup.config;
        for reminder in stagnation::due(&config.stagnation, &config.tips, &activity, &used, now) {
            let days = reminder.quiet_for / 86_400;
            let notice = Notice {
                title: "A quiet channel".to_string(),
                description: format!(
                    "<#{}> has had no staff post for {}. Here is a vetted {} you could share — the button posts it there.",
                    reminder.channel,
                    if days >= 1 {
                        format!("{days} day{}", if days == 1 { "" } else { "s" })
                    } else {
                        "a while".to_string()
                    },
                    if reminder.tip.kind == crate::config::TipKind::Product { "product note" } else { "tip" },
                ),
                fields: vec![("Suggested post".to_string(), reminder.tip.text.clone())],
                colour: 0x3B82C4,
                content: None,
            };
            let act = Act::Reminder {
                channel: staff_channel,
                notice,
                target: reminder.channel,
                tip_id: reminder.tip.id.clone(),
            };
            match bot.with_store(|s| s.record_reminder(guild, reminder.channel, &reminder.tip.id, &[act.to_new()], now))
            {
                Ok(()) => {
                    tracing::info!(channel = reminder.channel, tip = %reminder.tip.id, "stagnation reminder");
                    bot.wake.recorded(Some(guild));
                }
                Err(e) => tracing::error!(channel = reminder.channel, error = %e, "could not record a reminder"),
            }
        }
    }
}
