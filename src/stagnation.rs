//! Stagnation: a watched channel with no staff post for `stale_after` gets a reminder in the staff
//! channel, with a vetted tip to post. Pure: the shell passes each channel's activity, the tips'
//! recent use and the time, and posts what this returns.
//!
//! At most one reminder per channel per period (a period is `stale_after` long, and a staff post
//! starts a new one). Tips rotate: the first tip in `tips.toml` order not used within its cool-off,
//! or, when every tip is cooling off, the one used longest ago.

use std::collections::HashMap;

use crate::config::{StagnationSettings, Tip, TipBook};

/// What the shell knows about one watched channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelActivity {
    pub channel: u64,
    /// The last staff post, or `None` if Bedside has seen none.
    pub last_staff_post_at: Option<u64>,
    /// When Bedside started watching it (a channel with no staff post is quiet since then).
    pub watched_since: u64,
    pub last_reminder_at: Option<u64>,
}

/// A reminder to post.
#[derive(Clone, Debug, PartialEq)]
pub struct Reminder {
    pub channel: u64,
    /// How long the channel has been without a staff post, in seconds.
    pub quiet_for: u64,
    pub tip: Tip,
}

/// The reminders due `now` (seconds since the Unix epoch). `tips_used`: tip id → when last suggested.
pub fn due(
    settings: &StagnationSettings,
    tips: &TipBook,
    channels: &[ChannelActivity],
    tips_used: &HashMap<String, u64>,
    now: u64,
) -> Vec<Reminder> {
    let period = settings.stale_after.as_secs();
    if period == 0 || tips.tips.is_empty() {
        return Vec::new();
    }
    let mut used = tips_used.clone();
    let mut out = Vec::new();
    for c in channels {
        let quiet_since = c.last_staff_post_at.unwrap_or(c.watched_since);
        let quiet_for = now.saturating_sub(quiet_since);
        if quiet_for < period {
            continue;
        }
        // One reminder per period: not again until a period after the last one, unless staff
        // posted since (which started a new period).
        let reminded_this_period =
            c.last_reminder_at.is_some_and(|r| r >= quiet_since && now.saturating_sub(r) < period);
        if reminded_this_period {
            continue;
        }
        let tip = pick_tip(tips, &used, now);
        used.insert(tip.id.clone(), now);
        out.push(Reminder { channel: c.channel, quiet_for, tip });
    }
    out
}

fn pick_tip(tips: &TipBook, used: &HashMap<String, u64>, now: u64) -> Tip {
    let cooloff = tips.cooloff.as_secs();
    let fresh = tips.tips.iter().find(|t| used.get(&t.id).is_none_or(|&at| now.saturating_sub(at) >= cooloff));
    fresh
        .or_else(|| tips.tips.iter().min_by_key(|t| used.get(&t.id).copied().unwrap_or(0)))
        .cloned()
        .unwrap_or_else(|| tips.tips[0].clone())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::TipKind;

    const DAY: u64 = 86_400;
    const NOW: u64 = 1_790_000_000;

    fn settings() -> StagnationSettings {
        StagnationSettings { stale_after: Duration::from_secs(5 * DAY), check_every: Duration::from_secs(900) }
    }

    fn book() -> TipBook {
        let tip =
            |id: &str| Tip { id: id.into(), kind: TipKind::Tip, topic: "general".into(), text: format!("{id} text") };
        TipBook { cooloff: Duration::from_secs(30 * DAY), tips: vec![tip("a"), tip("b"), tip("c")] }
    }

    fn channel(last_staff: Option<u64>, reminded: Option<u64>) -> ChannelActivity {
        ChannelActivity {
            channel: 7,
            last_staff_post_at: last_staff,
            watched_since: NOW - 100 * DAY,
            last_reminder_at: reminded,
        }
    }

    #[test]
    fn a_quiet_channel_gets_one_reminder_per_period() {
        let used = HashMap::new();
        assert!(
            due(&settings(), &book(), &[channel(Some(NOW - 4 * DAY), None)], &used, NOW).is_empty(),
            "not quiet yet"
        );
        let r = due(&settings(), &book(), &[channel(Some(NOW - 6 * DAY), None)], &used, NOW);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].quiet_for, 6 * DAY);
        let reminded = channel(Some(NOW - 6 * DAY), Some(NOW - DAY));
        assert!(due(&settings(), &book(), &[reminded], &used, NOW).is_empty(), "already reminded this period");
        let next_period = channel(Some(NOW - 11 * DAY), Some(NOW - 5 * DAY));
        assert_eq!(due(&settings(), &book(), &[next_period], &used, NOW).len(), 1, "a new period, still quiet");
    }

    #[test]
    fn a_staff_post_starts_a_new_period() {
        // Reminded 6 days ago, staff posted 5.5 days ago, quiet again since: the old reminder does not count.
        let c = channel(Some(NOW - 5 * DAY - DAY / 2), Some(NOW - 6 * DAY));
        assert_eq!(due(&settings(), &book(), &[c], &HashMap::new(), NOW).len(), 1);
    }

    #[test]
    fn a_channel_never_posted_in_is_quiet_since_it_was_watched() {
        let c =
            ChannelActivity { channel: 1, last_staff_post_at: None, watched_since: NOW - DAY, last_reminder_at: None };
        assert!(due(&settings(), &book(), &[c], &HashMap::new(), NOW).is_empty());
        let c = ChannelActivity { watched_since: NOW - 6 * DAY, ..c };
        assert_eq!(due(&settings(), &book(), &[c], &HashMap::new(), NOW).len(), 1);
    }

    #[test]
    fn tips_rotate_and_respect_their_cooloff() {
        let mut used = HashMap::new();
        used.insert("a".to_string(), NOW - 3 * DAY);
        let quiet = |ch| ChannelActivity {
            channel: ch,
            last_staff_post_at: Some(NOW - 9 * DAY),
            watched_since: 0,
            last_reminder_at: None,
        };
        let r = due(&settings(), &book(), &[quiet(1), quiet(2)], &used, NOW);
        let ids: Vec<&str> = r.iter().map(|r| r.tip.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"], "a is cooling off; two channels get different tips");
        used.insert("b".into(), NOW - DAY);
        used.insert("c".into(), NOW - 2 * DAY);
        let r = due(&settings(), &book(), &[quiet(1)], &used, NOW);
        assert_eq!(r[0].tip.id, "a", "all cooling off: the one used longest ago");
    }
}
