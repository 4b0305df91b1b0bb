//! What the load run measures with, apart from what it does: latency statistics, the bot
//! process's memory and CPU from `/proc`, heartbeat timing by phase, and the verdicts printed on
//! them. The run itself (its phases and what it posts) is `tests/load.rs`.

use std::time::{Duration, Instant, SystemTime};

use crate::support::fake_discord::{FakeDiscord, RecordedRequest};

/// A phase that makes no progress for this long has stalled (the assertions then say what is missing).
pub const STALL: Duration = Duration::from_secs(15);
/// The flood delayed heartbeats if its longest lateness exceeds the idle phase's by more than this.
pub const BASELINE_MARGIN: Duration = Duration::from_millis(100);
/// How long one gateway read of serenity 0.12 waits (`TIMEOUT` in its `gateway/ws.rs`); it checks
/// whether a heartbeat is due only between two reads.
pub const SERENITY_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// One message the fake dispatched.
pub struct Sent {
    pub id: u64,
    pub channel: u64,
    /// Right before `post_message` was called.
    pub before: Instant,
    /// Right after it returned: the latency's start.
    pub after: Instant,
    /// The wall clock read together with `after`: places the bot's log timestamps on this clock.
    pub wall: SystemTime,
}

impl Sent {
    pub fn posted(id: u64, channel: u64, before: Instant) -> Sent {
        let (after, wall) = (Instant::now(), SystemTime::now());
        Sent { id, channel, before, after, wall }
    }

    /// Where the wall-clock time `at` (from the bot's log) falls on this process's `Instant` clock.
    pub fn on_clock(&self, at: SystemTime) -> Instant {
        on_clock((self.after, self.wall), at)
    }
}

/// Where the wall-clock time `at` falls on the `Instant` clock, by a pair of readings taken together.
pub fn on_clock((instant, wall): (Instant, SystemTime), at: SystemTime) -> Instant {
    match at.duration_since(wall) {
        Ok(later) => instant + later,
        Err(earlier) => instant.checked_sub(earlier.duration()).unwrap_or(instant),
    }
}

pub fn post_channel(r: &RecordedRequest) -> Option<u64> {
    if r.method != "POST" {
        return None;
    }
    r.path.strip_prefix("/channels/")?.strip_suffix("/messages")?.parse().ok()
}

/// The message an acknowledgement replies to.
pub fn replied_to(r: &RecordedRequest) -> Option<u64> {
    r.body.as_ref()?.pointer("/message_reference/message_id")?.as_str()?.parse().ok()
}

/// Memory of a process in kB, from its `/proc/…/status`.
#[derive(Clone, Copy)]
pub struct Memory {
    /// Peak resident set (`VmHWM`).
    pub peak: u64,
    /// Resident set now (`VmRSS`) …
    pub rss: u64,
    /// … of which anonymous memory (`RssAnon`: heap, stacks) …
    pub anon: u64,
    /// … and file pages (`RssFile`: the binary's code and other mapped files).
    pub file: u64,
}

pub fn memory(status_path: &str) -> Memory {
    let status = std::fs::read_to_string(status_path).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Memory { peak: field("VmHWM:"), rss: field("VmRSS:"), anon: field("RssAnon:"), file: field("RssFile:") }
}

/// CPU time in clock ticks: `(the process whose `/proc/…/stat` this is, the whole machine busy, the
/// whole machine total)`.
pub fn cpu_ticks(stat_path: &str) -> (u64, u64, u64) {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name: state is field 3, utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let own = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    let machine = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = machine
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let total: u64 = cpu.iter().sum();
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    (own, total - idle, total)
}

/// How busy the machine was between two `cpu_ticks` readings: this process's CPU time, and the
/// share of all cores used by this process and by everything else.
pub fn cpu_between(a: (u64, u64, u64), b: (u64, u64, u64)) -> String {
    let hz = 100.0; // USER_HZ on Linux
    let own = (b.0 - a.0) as f64;
    let busy = (b.1 - a.1) as f64;
    let total = ((b.2 - a.2) as f64).max(1.0);
    format!(
        "the bot {:.2} s CPU ({:.0}% of all cores), everything else (the fake, the harness, the rest) {:.0}%",
        own / hz,
        100.0 * own / total,
        100.0 * (busy - own).max(0.0) / total
    )
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentile of sorted values.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub struct Stats {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

pub fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let n = v.len();
    let mean = if n == 0 { Duration::ZERO } else { v.iter().sum::<Duration>() / n as u32 };
    Stats {
        n,
        p50: pct(&v, 50.0),
        p90: pct(&v, 90.0),
        p99: pct(&v, 99.0),
        max: v.last().copied().unwrap_or_default(),
        mean,
    }
}

impl Stats {
    pub fn line(&self) -> String {
        format!(
            "n={} p50 {}  p90 {}  p99 {}  max {}  mean {}",
            self.n,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max),
            ms(self.mean)
        )
    }
}

/// Waits until the fake's gateway sequence reaches `target()`, read again at each check since the
/// other guild's messages add to it while the flood drains (every dispatch counts: the patients'
/// messages and the echoes of the bot's own replies and shares), or until nothing moved for
/// `STALL`. A cheap progress signal: `requests()` would clone every recorded request.
pub async fn drain(fake: &FakeDiscord, target: impl Fn() -> u64, what: &str) {
    let mut last = fake.dispatched();
    let mut moved = Instant::now();
    while last < target() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = fake.dispatched();
        if now != last {
            last = now;
            moved = Instant::now();
        } else if moved.elapsed() > STALL {
            println!("  !! {what}: stalled at {now} of {} dispatches; checking what is missing", target());
            return;
        }
    }
}

/// Heartbeats in one phase of the run.
pub struct Beats {
    /// The heartbeat interval the fake announced.
    pub interval: Duration,
    /// Heartbeats that arrived in the window.
    pub count: usize,
    /// The window's length in heartbeat intervals (how many to expect).
    pub intervals: f64,
    /// The longest gap between consecutive heartbeats that overlaps the window.
    pub longest: Option<Duration>,
    /// The longest lateness (gap − interval) of a heartbeat that fell due while messages were still
    /// reaching the bot (one arrived between its due time and the heartbeat): it could have gone
    /// right after that read, so its lateness is a delay under load.
    pub busy: Option<Duration>,
    /// The longest lateness of a heartbeat that fell due when no more messages came before it (so it
    /// waited for serenity's read to time out), and how long the bot had then been without messages.
    pub quiet: Option<(Duration, Duration)>,
}

impl Beats {
    /// Heartbeats (`at`, in arrival order) in `[from, to]`; `reads`: when messages reached the bot.
    pub fn between(interval: Duration, at: &[Instant], from: Instant, to: Instant, reads: &[Instant]) -> Beats {
        let gaps: Vec<(Instant, Instant)> =
            at.windows(2).filter(|w| w[1] >= from && w[0] <= to).map(|w| (w[0], w[1])).collect();
        let mut busy: Option<Duration> = None;
        let mut quiet: Option<(Duration, Duration)> = None;
        for &(prev, next) in &gaps {
            let due = prev + interval;
            let late = next.saturating_duration_since(due);
            if reads.iter().any(|r| *r >= due && *r < next) {
                busy = busy.max(Some(late));
            } else if quiet.is_none_or(|(q, _)| late > q) {
                let last_read = reads.iter().filter(|r| **r < next).max().map_or(prev, |r| prev.max(*r));
                quiet = Some((late, next - last_read));
            }
        }
        Beats {
            interval,
            count: at.iter().filter(|t| **t >= from && **t <= to).count(),
            intervals: (to - from).as_secs_f64() / interval.as_secs_f64(),
            longest: gaps.iter().map(|(prev, next)| *next - *prev).max(),
            busy,
            quiet,
        }
    }

    /// How much later than the interval the longest gap was.
    pub fn late(&self) -> Option<Duration> {
        self.longest.map(|g| g.saturating_sub(self.interval))
    }

    pub fn line(&self) -> String {
        let (Some(gap), Some(late)) = (self.longest, self.late()) else {
            return format!("{} in {:.1} intervals, no gap (fewer than 2 heartbeats)", self.count, self.intervals);
        };
        let mut line =
            format!("{} in {:.1} intervals, longest gap {} ({} late)", self.count, self.intervals, ms(gap), ms(late));
        if let Some(busy) = self.busy {
            line += &format!("; when a message reached the bot after one fell due: at most {} late", ms(busy));
        }
        if let Some((late, quiet)) = self.quiet {
            line += &format!(
                "; when none did: at most {} late ({} after the bot's last message or heartbeat)",
                ms(late),
                ms(quiet)
            );
        }
        line
    }

    pub fn longest_ms(&self) -> String {
        self.longest.map_or("none".into(), |g| format!("{:.0} ms", g.as_secs_f64() * 1000.0))
    }
}

/// Did the flood delay heartbeats beyond the idle baseline? The flood's longest lateness against the
/// idle phase's; if it is more, whether that heartbeat fell due while the flood's messages still came
/// (a delay under load) or after the last of them (then it waited for serenity's read to time out,
/// as any quiet bot's heartbeat does).
pub fn heartbeat_verdict(idle: &Beats, flood: &Beats) -> String {
    let (Some(idle_late), Some(flood_late)) = (idle.late(), flood.late()) else {
        return "no verdict: fewer than two heartbeats around the idle phase or the flood".into();
    };
    let allowed = idle_late + BASELINE_MARGIN;
    if flood_late <= allowed {
        return format!(
            "the flood did not delay heartbeats beyond the idle baseline (its longest lateness {} ≤ idle's {} + {} ms)",
            ms(flood_late),
            ms(idle_late),
            BASELINE_MARGIN.as_millis()
        );
    }
    let busy = flood.busy.unwrap_or_default();
    match flood.quiet {
        Some((late, quiet)) if busy <= allowed && late <= SERENITY_READ_TIMEOUT + BASELINE_MARGIN => format!(
            "the flood did not delay heartbeats beyond the idle baseline while its messages came (at most {} late ≤ \
             idle's {} + {} ms); its {} late heartbeat fell due after the last of them and went at serenity's next read \
             timeout, {} after the bot's last message: the wait for a read (up to {} ms) a quiet bot's heartbeat has too",
            ms(busy),
            ms(idle_late),
            BASELINE_MARGIN.as_millis(),
            ms(late),
            ms(quiet),
            SERENITY_READ_TIMEOUT.as_millis()
        ),
        _ => format!(
            "the flood delayed heartbeats {} beyond the idle baseline (its longest lateness {}, idle's {}; while its \
             messages came at most {} late{})",
            ms(flood_late - idle_late),
            ms(flood_late),
            ms(idle_late),
            ms(busy),
            flood.quiet.map_or(String::new(), |(late, _)| format!(", after the last of them {}", ms(late)))
        ),
    }
}

/// Delivery and handling of a phase's messages, side by side.
pub fn split_line(delivery: &Stats, handling: &Stats) -> String {
    format!(
        "posted → received by the bot p50 {}, p99 {}; received → acknowledgement POST p50 {}, p99 {}",
        ms(delivery.p50),
        ms(delivery.p99),
        ms(handling.p50),
        ms(handling.p99)
    )
}
