//! A load measurement of the live bot, not a timed test: the real `bedside run` binary, in its own
//! process, against the scripted fake Discord (as in `tests/bot.rs`) through `BEDSIDE_DISCORD_API`,
//! with a file-backed store as in production. It is fed patient feedback at a steady 100
//! messages/s for 5 s, then a flood of 2,000 at once (plus one message in the other guild halfway
//! through). It prints latencies, drain time, heartbeats and the bot process's memory, and asserts
//! only correctness: every message acknowledged exactly once and shared with staff once, and a
//! clean exit on SIGTERM.
//!
//! ```sh
//! cargo test --release --test load -- --ignored --nocapture
//! ```
//!
//! Latency of a message = from the moment `FakeDiscord::post_message` returned (the MESSAGE_CREATE
//! is validated, sequenced and queued on the fake's socket writer) to the moment the fake received
//! the bot's first REST call for it: `POST /channels/{channel}/messages` whose
//! `message_reference.message_id` is that message (the acknowledgement), by
//! `RecordedRequest::received_at`. Both ends are `std::time::Instant`s in this process.
//!
//! The fake and this harness share this process (a tokio runtime with 2 workers); the bot has its
//! own, as in production. Both run on the same 2-core machine, so the latencies include the fake's
//! own work (serenity-type validation of every dispatch, HTTP parsing, echoing the bot's own
//! messages back). Memory is the bot process's own peak (`VmHWM` of its `/proc/PID/status`).

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bedside::detect::{Message as Draft, Role};
use bedside::setup::Setup;
use support::fake_discord::*;
use support::running::wait_connected;

/// Steady phase: this many messages per second…
const STEADY_RATE: u64 = 100;
/// …for this many seconds.
const STEADY_SECS: u64 = 5;
/// Flood phase: this many messages dispatched back to back.
const FLOOD: usize = 2_000;
/// Heartbeat interval announced in HELLO (Discord's is ~41 s; short here so the flood spans one or two).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// The whole run, bot start to stop.
const OVERALL: Duration = Duration::from_secs(120);
/// Start-up and shutdown waits.
/// A phase that makes no progress for this long has stalled (the assertions then say what is missing).
const STALL: Duration = Duration::from_secs(15);
/// How long to watch for late duplicates once everything was handled.
const QUIET: Duration = Duration::from_secs(1);
/// How often the heartbeat watcher looks at the fake's heartbeat counter (its time resolution).
const HEARTBEAT_POLL: Duration = Duration::from_millis(5);
/// Steady messages posted this soon after a heartbeat are reported apart (Nagle + delayed ACK on
/// the fake's gateway socket stall the frame after each heartbeat ACK by up to ~40 ms).
const NEAR_HEARTBEAT: Duration = Duration::from_millis(50);

const PATIENTS: [u64; 3] = [USER_PATIENT_A, USER_PATIENT_B, USER_PATIENT_C];

/// Patient feedback Bedside acknowledges (praise, complaints, suggestions); each is checked with the
/// detector before the run, and numbered so no two messages are the same.
const TEXTS: [&str; 8] = [
    "The front desk team was so kind today, thank you!",
    "Huge thanks to the nurses, everyone was so friendly and helpful this morning!",
    "Best clinic in town, the staff were amazing and so patient with my kids",
    "Waited over an hour past my appointment and nobody called. Unacceptable.",
    "Could you add Saturday hours? It would really help working parents.",
    "Really impressed with how organised and welcoming the reception was today",
    "It would be great if you offered online booking for evening slots",
    "The waiting room was freezing and the wait was way too long again",
];

/// Posted in the other guild's #general during the flood.
const OTHER_TEXT: &str = "The librarian recommended a great clinic and the staff were so kind, thank you!";

fn feedback_text(i: usize) -> String {
    format!("{} #{}", TEXTS[i % TEXTS.len()], i + 1)
}

/// A copy of the project's `config/` with no acknowledgement cooldown, so every feedback message
/// gets its own reply; the bot process reads it with `--config`.
fn config_dir(into: &Path) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("config copy");
        for entry in std::fs::read_dir(from).expect("config dir") {
            let path = entry.expect("config entry").path();
            let target = to.join(path.file_name().expect("file name"));
            if path.is_dir() {
                copy(&path, &target);
            } else {
                std::fs::copy(&path, &target).expect("copy a config file");
            }
        }
    }
    let dir = into.join("config");
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config"), &dir);
    let main = dir.join("bedside.toml");
    let text = std::fs::read_to_string(&main).expect("bedside.toml");
    let patched: Vec<String> = text
        .lines()
        .map(|l| if l.trim_start().starts_with("cooldown_hours") { "cooldown_hours = 0".to_string() } else { l.into() })
        .collect();
    assert_ne!(patched.join("\n"), text.trim_end(), "bedside.toml has an acknowledgements.cooldown_hours to patch");
    std::fs::write(&main, patched.join("\n")).expect("write bedside.toml");
    dir
}

/// The bot, as its own process: `bedside run` with the environment a practice would set.
struct BotProcess {
    child: Child,
}

impl BotProcess {
    async fn start(fake: &FakeDiscord, config: &Path, work: &Path) -> BotProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(["run", "--config"])
            .arg(config)
            .env_clear()
            .env("DISCORD_TOKEN", fake.token())
            .env("BEDSIDE_DISCORD_API", fake.api_base())
            .env("DATABASE_URL", format!("sqlite://{}", work.join("bedside.db").display()))
            .env("RUST_LOG", "bedside=warn,serenity=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the bedside binary");
        let bot = BotProcess { child };
        wait_connected(fake).await;
        bot
    }

    fn proc(&self, file: &str) -> String {
        format!("/proc/{}/{file}", self.child.id())
    }

    /// SIGTERM, then the exit status, which must be 0 (a clean shutdown).
    fn stop(mut self) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + STALL;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the bot") {
                assert!(status.success(), "the bot exits cleanly on SIGTERM: {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the bot stops within {STALL:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One message the fake dispatched.
struct Sent {
    id: u64,
    channel: u64,
    /// Right before `post_message` was called.
    before: Instant,
    /// Right after it returned: the latency's start.
    after: Instant,
}

fn post_channel(r: &RecordedRequest) -> Option<u64> {
    if r.method != "POST" {
        return None;
    }
    r.path.strip_prefix("/channels/")?.strip_suffix("/messages")?.parse().ok()
}

/// The message an acknowledgement replies to.
fn replied_to(r: &RecordedRequest) -> Option<u64> {
    r.body.as_ref()?.pointer("/message_reference/message_id")?.as_str()?.parse().ok()
}

/// The message a staff share links to (the last path segment of its jump link).
fn shared_message(r: &RecordedRequest) -> Option<u64> {
    let text = r.body.as_ref()?.get("embeds")?.to_string();
    let at = text.find("https://discord.com/channels/")?;
    let link = &text[at..];
    let link = &link[..link.find(['"', ' ', ')']).unwrap_or(link.len())];
    link.rsplit('/').next()?.parse().ok()
}

/// `(VmHWM, VmRSS)` in kB of the process whose `/proc/…/status` this is.
fn memory(status_path: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(status_path).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU time in clock ticks: `(the process whose `/proc/…/stat` this is, the whole machine busy, the
/// whole machine total)`.
fn cpu_ticks(stat_path: &str) -> (u64, u64, u64) {
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
fn cpu_between(a: (u64, u64, u64), b: (u64, u64, u64)) -> String {
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

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Stats {
    n: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
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
    fn line(&self) -> String {
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

/// Waits until the fake's gateway sequence reaches `target` (every dispatch counts: the patients'
/// messages and the echoes of the bot's own replies and shares), or until nothing moved for
/// `STALL`. A cheap progress signal: `requests()` would clone every recorded request.
async fn drain(fake: &FakeDiscord, target: u64, what: &str) {
    let mut last = fake.last_seq();
    let mut moved = Instant::now();
    while last < target {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = fake.last_seq();
        if now != last {
            last = now;
            moved = Instant::now();
        } else if moved.elapsed() > STALL {
            println!("  !! {what}: stalled at gateway seq {now} of {target}; checking what is missing");
            return;
        }
    }
}

/// Records when each heartbeat reached the fake (to `HEARTBEAT_POLL`), until `stop` is set. A plain
/// thread, so a busy runtime cannot delay the watcher itself.
fn watch_heartbeats(fake: FakeDiscord, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Instant>> {
    std::thread::spawn(move || {
        let mut seen = fake.heartbeat_count();
        let mut at = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(HEARTBEAT_POLL);
            let now = fake.heartbeat_count();
            if now > seen {
                at.extend(std::iter::repeat_n(Instant::now(), now - seen));
                seen = now;
            }
        }
        at
    })
}

/// Heartbeats that arrived in `[from, to]`, and the longest gap between consecutive heartbeats
/// that overlaps that window.
fn heartbeats_in(at: &[Instant], from: Instant, to: Instant) -> (usize, Duration) {
    let count = at.iter().filter(|t| **t >= from && **t <= to).count();
    let gap = at.windows(2).filter(|w| w[1] >= from && w[0] <= to).map(|w| w[1] - w[0]).max().unwrap_or_default();
    (count, gap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load measurement: cargo test --release --test load -- --ignored --nocapture"]
async fn steady_load_then_a_flood() {
    tokio::time::timeout(OVERALL, measure()).await.expect("the load run exceeded its time limit");
}

async fn measure() {
    let steady_count = (STEADY_RATE * STEADY_SECS) as usize;
    let load_start = loadavg();
    let work = tempfile::tempdir().expect("tempdir");
    let config = config_dir(work.path());
    let setup = Setup::load(Some(&config)).expect("the patched configuration");
    assert!(setup.config.acknowledgements.cooldown.is_zero(), "no acknowledgement cooldown in the load run");
    // Every text sent is patient feedback, so every message calls for an acknowledgement.
    let texts = (0..steady_count + FLOOD).map(feedback_text).chain([OTHER_TEXT.to_string()]);
    for text in texts {
        let analysis = setup.detector.analyze(&Draft::new(&text, Role::Patient));
        assert!(analysis.feedback_kind.is_some(), "not classified as patient feedback: {text:?}");
    }
    let watch = &setup.config.discord.watch;

    // The other guild's channel: watched by name? Then a patient's feedback there gets a reply too.
    // It has no staff-feedback channel, so nothing is shared from it.
    let fixture = GuildFixture::maple_grove();
    let other = fixture.guilds.iter().find(|g| g.id == OTHER_GUILD_ID).expect("other guild");
    let other_name = other.channel(OTHER_CH_GENERAL).expect("other guild's channel").name.clone();
    let other_watched = watch.iter().any(|w| w.trim_start_matches('#').eq_ignore_ascii_case(&other_name));
    let feedback_channel = setup.config.discord.feedback_channel.clone().unwrap_or_default();
    let other_shares = usize::from(other.channels.iter().any(|c| c.name.eq_ignore_ascii_case(&feedback_channel)));

    let fake = FakeDiscord::start().await;
    fake.set_heartbeat_interval(HEARTBEAT);
    let started = Instant::now();
    let bot = BotProcess::start(&fake, &config, work.path()).await;
    let ready_in = started.elapsed();
    let (status, stat) = (bot.proc("status"), bot.proc("stat"));
    let mem_ready = memory(&status);
    let stop_watching = Arc::new(AtomicBool::new(false));
    let heartbeat_watch = watch_heartbeats(fake.clone(), stop_watching.clone());
    let connections_before = fake.connection_count();

    println!();
    println!(
        "Bedside load run: {} patient feedback messages into #feedback ({} steady + {} flood)",
        steady_count + FLOOD,
        steady_count,
        FLOOD
    );
    println!(
        "  bot process started and ready in {} (start → IDENTIFY → READY → commands registered); heartbeat interval {} ms",
        ms(ready_in),
        HEARTBEAT.as_millis()
    );
    println!(
        "  latency = post_message() returned (MESSAGE_CREATE queued on the fake's socket) → fake received the ack POST"
    );

    // 1. Steady: 100/s for 5 s.
    let seq = fake.last_seq();
    let cpu_steady = cpu_ticks(&stat);
    let mut steady = Vec::with_capacity(steady_count);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    let steady_start = Instant::now();
    for i in 0..steady_count {
        tick.tick().await;
        let spec = MessageSpec::new(CH_FEEDBACK, PATIENTS[i % PATIENTS.len()], feedback_text(i));
        let before = Instant::now();
        let id = fake.post_message(spec).await.expect("post a steady message").get();
        steady.push(Sent { id, channel: CH_FEEDBACK, before, after: Instant::now() });
    }
    let steady_sent_in = steady_start.elapsed();
    drain(&fake, seq + 3 * steady_count as u64, "steady phase").await;
    let cpu_steady = cpu_between(cpu_steady, cpu_ticks(&stat));
    let mem_steady = memory(&status);

    // 2. Flood: 2,000 back to back, and 3. one message in the other guild halfway through.
    let seq = fake.last_seq();
    let mut flood = Vec::with_capacity(FLOOD);
    let mut other_sent = None;
    let cpu_flood = cpu_ticks(&stat);
    let flood_start = Instant::now();
    for i in 0..FLOOD {
        if i == FLOOD / 2 && other_watched {
            let before = Instant::now();
            let id = fake
                .post_message(MessageSpec::new(OTHER_CH_GENERAL, USER_PATIENT_A, OTHER_TEXT))
                .await
                .expect("post in the other guild")
                .get();
            other_sent = Some(Sent { id, channel: OTHER_CH_GENERAL, before, after: Instant::now() });
        }
        let n = steady_count + i;
        let spec = MessageSpec::new(CH_FEEDBACK, PATIENTS[n % PATIENTS.len()], feedback_text(n));
        let before = Instant::now();
        let id = fake.post_message(spec).await.expect("post a flood message").get();
        flood.push(Sent { id, channel: CH_FEEDBACK, before, after: Instant::now() });
    }
    let flood_dispatched_in = flood_start.elapsed();
    let other_dispatches = if other_sent.is_some() { 2 + other_shares as u64 } else { 0 };
    drain(&fake, seq + 3 * FLOOD as u64 + other_dispatches, "flood").await;
    let cpu_flood = cpu_between(cpu_flood, cpu_ticks(&stat));
    tokio::time::sleep(QUIET).await;
    stop_watching.store(true, Ordering::Relaxed);
    let run_end = Instant::now();
    let heartbeat_at = heartbeat_watch.join().expect("heartbeat watcher");
    let mem_end = memory(&status);

    // Correlate.
    let requests = fake.requests();
    let mut acks: HashMap<u64, Vec<&RecordedRequest>> = HashMap::new();
    let mut shares: HashMap<u64, usize> = HashMap::new();
    let mut share_times: HashMap<u64, Instant> = HashMap::new();
    let mut other_calls: HashMap<String, usize> = HashMap::new();
    for r in &requests {
        match (post_channel(r), replied_to(r)) {
            (Some(_), Some(id)) => acks.entry(id).or_default().push(r),
            (Some(CH_STAFF_FEEDBACK), None) => {
                let id = shared_message(r).unwrap_or_default();
                *shares.entry(id).or_default() += 1;
                share_times.insert(id, r.received_at);
            }
            _ => *other_calls.entry(format!("{} {}", r.method, r.path)).or_default() += 1,
        }
    }
    let latency =
        |s: &Sent| acks.get(&s.id).and_then(|a| a.first()).map(|a| a.received_at.saturating_duration_since(s.after));

    // Correctness: every message acknowledged exactly once, in its channel, successfully; every
    // #feedback message shared with staff exactly once; nothing else acknowledged or shared.
    let everything: Vec<&Sent> = steady.iter().chain(&flood).chain(other_sent.as_ref()).collect();
    let mut problems = Vec::new();
    for s in &everything {
        match acks.get(&s.id).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!("message {} was not acknowledged", s.id)),
            Some([a]) => {
                if post_channel(a) != Some(s.channel) || a.status != Some(200) {
                    problems.push(format!("message {}: ack {} {} answered {:?}", s.id, a.method, a.path, a.status));
                }
            }
            Some(more) => problems.push(format!("message {} was acknowledged {} times", s.id, more.len())),
        }
        let expected_shares = if s.channel == CH_FEEDBACK { 1 } else { other_shares };
        let got = shares.get(&s.id).copied().unwrap_or(0);
        if got != expected_shares {
            problems.push(format!("message {} was shared with staff {got} times, expected {expected_shares}", s.id));
        }
    }
    let ids: std::collections::HashSet<u64> = everything.iter().map(|s| s.id).collect();
    problems.extend(acks.keys().filter(|id| !ids.contains(id)).map(|id| format!("an ack for unknown message {id}")));
    problems.extend(shares.keys().filter(|id| !ids.contains(id)).map(|id| format!("a share of unknown message {id}")));
    let total_acks: usize = acks.values().map(Vec::len).sum();
    let total_shares: usize = shares.values().sum();
    let expected_shares = steady.len() + flood.len() + other_sent.as_ref().map_or(0, |_| other_shares);

    // Figures.
    let steady_stats = stats(steady.iter().filter_map(latency).collect());
    let flood_stats = stats(flood.iter().filter_map(latency).collect());
    let post_cost = stats(steady.iter().chain(&flood).map(|s| s.after - s.before).collect());
    let flood_last_ack = flood.iter().filter_map(|s| acks.get(&s.id)?.first().map(|a| a.received_at)).max();
    let flood_last_share = flood.iter().filter_map(|s| share_times.get(&s.id).copied()).max();
    let drain_ack = flood_last_ack.map(|t| t - flood_start).unwrap_or_default();
    let drain_share = flood_last_share.map(|t| t - flood_start).unwrap_or_default();
    let other_latency = other_sent.as_ref().and_then(latency);
    let flood_end = flood_last_ack.unwrap_or_else(Instant::now);
    let (hb_flood, hb_flood_gap) = heartbeats_in(&heartbeat_at, flood_start, flood_end);
    let hb_flood_expected = (flood_end - flood_start).as_secs_f64() / HEARTBEAT.as_secs_f64();
    let (hb_all, hb_all_gap) = heartbeats_in(&heartbeat_at, steady_start, run_end);
    let hb_all_expected = (run_end - steady_start).as_secs_f64() / HEARTBEAT.as_secs_f64();
    let reconnects = fake.connection_count() - connections_before;

    println!();
    println!("Steady: {steady_count} messages at {STEADY_RATE}/s, dispatched over {}", ms(steady_sent_in));
    println!("  latency {}", steady_stats.line());
    println!("  CPU: {cpu_steady}");
    // How long after the last heartbeat (as seen by the watcher) each message was posted: the
    // slowest steady messages cluster right after heartbeats (see the note in the output).
    let since_heartbeat = |s: &Sent| heartbeat_at.iter().rev().find(|h| **h <= s.after).map(|h| s.after - *h);
    let near = |s: &&Sent| since_heartbeat(s).is_some_and(|d| d <= NEAR_HEARTBEAT);
    let mut slowest: Vec<(usize, &Sent, Duration)> =
        steady.iter().enumerate().filter_map(|(i, s)| Some((i, s, latency(s)?))).collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.2));
    let slowest_near = slowest.iter().take(5).filter(|(_, s, _)| near(s)).count();
    let slowest: Vec<String> = slowest
        .iter()
        .take(6)
        .map(|(i, s, l)| {
            let after = since_heartbeat(s)
                .map_or("before any heartbeat".to_string(), |d| format!("{} after a heartbeat", ms(d)));
            format!("#{i} at +{:.0} ms: {} ({after})", (s.after - steady_start).as_secs_f64() * 1000.0, ms(*l))
        })
        .collect();
    let near_stats = stats(steady.iter().filter(near).filter_map(latency).collect());
    let rest_stats = stats(steady.iter().filter(|s| !near(s)).filter_map(latency).collect());
    println!("  slowest: {}", slowest.join("; "));
    println!("  posted ≤ {} ms after a heartbeat: {}", NEAR_HEARTBEAT.as_millis(), near_stats.line());
    println!("  all the others:              {}", rest_stats.line());
    if slowest_near >= 3 {
        println!(
            "  note: most of the slowest follow heartbeats. The fake's gateway socket has Nagle's algorithm on \
             (axum::serve without tcp_nodelay), and after a heartbeat ACK the bot's side delays its TCP ACK \
             (up to 40 ms), so the next MESSAGE_CREATE waits: a test-rig stall, not the bot's \
             (`.tcp_nodelay(true)` on the fake's gateway listener removes it)."
        );
    }
    println!(
        "Flood: {FLOOD} messages dispatched in {} ({:.0}/s from the fake)",
        ms(flood_dispatched_in),
        FLOOD as f64 / flood_dispatched_in.as_secs_f64()
    );
    println!("  latency {}", flood_stats.line());
    println!("  CPU from first dispatch until drained: {cpu_flood}");
    println!(
        "  drain: first dispatch → last acknowledgement {} ({:.0} messages/s); → last staff share {}",
        ms(drain_ack),
        FLOOD as f64 / drain_ack.as_secs_f64().max(1e-9),
        ms(drain_share)
    );
    match (&other_sent, other_latency) {
        (Some(_), Some(l)) => println!(
            "Other guild during the flood (#{other_name}, watched, posted after {} flood messages): latency {}",
            FLOOD / 2,
            ms(l)
        ),
        (Some(_), None) => println!("Other guild during the flood (#{other_name}): NOT acknowledged"),
        (None, _) => println!("Other guild: #{other_name} is not watched; nothing posted there"),
    }
    println!(
        "Heartbeats (as the fake received them, polled every {} ms; interval {} ms): {hb_flood} in the {} flood window \
         ({hb_flood_expected:.1} intervals), longest gap {}; whole run {hb_all} in {} ({hb_all_expected:.1} intervals), \
         longest gap {}; gateway reconnects: {reconnects}",
        HEARTBEAT_POLL.as_millis(),
        HEARTBEAT.as_millis(),
        ms(flood_end - flood_start),
        ms(hb_flood_gap),
        ms(run_end - steady_start),
        ms(hb_all_gap)
    );
    println!("The fake's post_message() itself: {}", post_cost.line());
    let pair = |m: (u64, u64)| format!("{} / {}", mb(m.0), mb(m.1));
    println!(
        "Memory of the bot process (its store a SQLite file, as in production), VmHWM / VmRSS: ready {}; \
         after steady {}; end {}",
        pair(mem_ready),
        pair(mem_steady),
        pair(mem_end)
    );
    println!("Load average (1/5/15 min) at start {load_start}, at end {}", loadavg());
    println!(
        "Correctness: {} messages, {total_acks} acknowledgements, {total_shares} staff shares (expected {expected_shares}), {} other REST calls {:?}",
        everything.len(),
        other_calls.values().sum::<usize>(),
        other_calls
    );

    println!();
    println!("| load (release build, 2-core machine, the bot process + the fake Discord) | figure | goal |");
    println!("|---|---|---|");
    println!(
        "| steady: {STEADY_RATE} feedback messages/s for {STEADY_SECS} s, MESSAGE_CREATE → acknowledgement POST | p50 **{}**, p99 **{}** (max {}) | p99 < 20 ms |",
        ms(steady_stats.p50),
        ms(steady_stats.p99),
        ms(steady_stats.max)
    );
    if slowest_near >= 3 {
        println!(
            "| steady, without the {} messages posted ≤ {} ms after a heartbeat (the rig's Nagle stall, see above) | \
             p50 {}, p99 {} (max {}) | |",
            near_stats.n,
            NEAR_HEARTBEAT.as_millis(),
            ms(rest_stats.p50),
            ms(rest_stats.p99),
            ms(rest_stats.max)
        );
    }
    println!(
        "| flood: {FLOOD} messages at once, first dispatch → last acknowledgement | **{}** ({:.0} messages/s; staff shares done at {}) | < 5 s |",
        ms(drain_ack),
        FLOOD as f64 / drain_ack.as_secs_f64().max(1e-9),
        ms(drain_share)
    );
    println!(
        "| flood: latency per message | p50 {}, p99 {} (max {}) | |",
        ms(flood_stats.p50),
        ms(flood_stats.p99),
        ms(flood_stats.max)
    );
    if let Some(l) = other_latency {
        println!("| other guild during the flood | {} | |", ms(l));
    }
    println!(
        "| heartbeats during the flood ({} ms interval) | {hb_flood} in {}, longest gap {}, {reconnects} reconnects | \
         not delayed |",
        HEARTBEAT.as_millis(),
        ms(flood_end - flood_start),
        ms(hb_flood_gap)
    );
    println!(
        "| peak memory of the bot process (VmHWM) | {} ({} once it was ready) | < 50 MB |",
        mb(mem_end.0),
        mb(mem_ready.0)
    );
    println!(
        "| correctness | {} messages: {total_acks} acknowledged once each, {total_shares} shared once each | all |",
        everything.len()
    );
    println!();

    let fake_problems = fake.problems();
    bot.stop();
    fake.shutdown().await;
    assert!(fake_problems.is_empty(), "the fake found problems: {fake_problems:?}");
    assert!(problems.is_empty(), "{} problems, first ones: {:#?}", problems.len(), &problems[..problems.len().min(20)]);
    assert_eq!(total_acks, everything.len(), "every message acknowledged exactly once");
    assert_eq!(total_shares, expected_shares, "every #feedback message shared with staff exactly once");
    assert!(other_sent.is_none() || other_latency.is_some(), "the other guild's message was acknowledged");
}
