//! A load measurement of the live bot, not a timed test: the real `bedside run` binary, in its own
//! process, against the scripted fake Discord (as in `tests/bot.rs`) through `BEDSIDE_DISCORD_API`,
//! with a file-backed store as in production. Once the bot is ready it is left idle for 4 heartbeat
//! intervals (a baseline of heartbeat timing without load), then fed patient feedback at a steady
//! 100 messages/s for 5 s, then a flood of 2,000 at once, while another guild's patients post a
//! message every 50 ms until the flood has drained. It prints latencies (split into the gateway's
//! delivery and Bedside's handling), drain time, heartbeats by phase and the bot process's memory,
//! and asserts only correctness: every message acknowledged exactly once and shared with staff
//! once, and a clean exit on SIGTERM.
//!
//! ```sh
//! cargo test --release --test load -- --ignored --nocapture
//! BEDSIDE_LOAD_SHARDS=1 cargo test --release --test load -- --ignored --nocapture
//! ```
//!
//! The bot runs with `--shards 2` unless `BEDSIDE_LOAD_SHARDS` says otherwise, so the flooded guild
//! and the other guild come on connections of their own (serenity starts shards 5 s apart, so the
//! bot is ready ~5 s later). With one shard every guild's events come in order on one connection,
//! and each of the other guild's messages is read after the flood messages posted before it.
//!
//! Latency of a message = from the moment `FakeDiscord::post_message` returned (the MESSAGE_CREATE
//! is validated, sequenced and queued on the fake's socket writer) to the moment the fake received
//! the bot's first REST call for it: `POST /channels/{channel}/messages` whose
//! `message_reference.message_id` is that message (the acknowledgement), by
//! `RecordedRequest::received_at`. Both ends are `std::time::Instant`s in this process.
//!
//! That latency is split at the moment serenity handed the message to Bedside: the bot logs a
//! `bedside::received` debug event then (ids only), which this harness reads off the bot's stderr
//! (forwarding every other line) and places on its own clock with a `SystemTime`/`Instant` pair
//! read together when the message was posted. Posted → received is the gateway's delivery (in
//! order: behind everything queued before it); received → acknowledgement POST is Bedside's
//! handling (including the REST call's way to the fake).
//!
//! Heartbeats are the fake's exact arrival times (`FakeDiscord::heartbeat_times`, taken by the
//! gateway's reader, which never waits on its writer). Serenity 0.12 checks whether a heartbeat
//! is due only between two gateway socket reads, and a read waits up to 500 ms, so a heartbeat
//! that falls due while no events come waits for a read to time out: up to ~500 ms late. The idle
//! phase is the baseline without load (with this 1 s interval, two read timeouts counted from each
//! heartbeat's ACK, its heartbeats come nearly on time). The verdict says whether the flood delayed
//! heartbeats beyond it, and tells a heartbeat that fell due while messages were still reaching the
//! bot (late = delayed under load) from one that fell due after the last of them (late = waiting
//! for a read to time out, as a quiet bot's heartbeat does); when messages reached the bot comes from
//! its `bedside::received` events (echoes of its own messages included, placed on this clock by a
//! pair of readings taken when the idle phase began).
//!
//! The fake and this harness share this process (a tokio runtime with 2 workers); the bot has its
//! own, as in production. Both run on the same 2-core machine, so the latencies include the fake's
//! own work (serenity-type validation of every dispatch, HTTP parsing, echoing the bot's own
//! messages back). Memory is the bot process's own peak (`VmHWM` of its `/proc/PID/status`); its
//! resident set is also split into anonymous memory (`RssAnon`) and file pages (`RssFile`: mostly
//! the binary's code), since the code pages count in the RSS.
//!
//! This file is the run: its phases, what it posts, what it prints. The bot's process is
//! `tests/support/bot_process.rs`; the statistics, `/proc` readings and heartbeat analysis are
//! `tests/load/measure.rs`.

#[path = "load/measure.rs"]
mod measure;
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bedside::detect::{Message as Draft, Role};
use bedside::setup::Setup;
use measure::*;
use support::bot_process::{BotProcess, copy_config};
use support::fake_discord::*;
use support::running::shared_message;

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
/// Idle phase: the bot, ready, is left alone for this many heartbeat intervals (the baseline).
const IDLE_INTERVALS: u32 = 4;
/// How long to watch for late duplicates once everything was handled.
const QUIET: Duration = Duration::from_secs(1);
/// Steady messages posted this soon after a heartbeat are compared with the others (a stall of the
/// frame after each heartbeat ACK would show there; the fake's gateway has `tcp_nodelay`).
const NEAR_HEARTBEAT: Duration = Duration::from_millis(50);
/// The steady rate's goal for p99 latency; the other guild's messages during the flood are held to
/// it too ("the burst must not delay other guilds").
const STEADY_GOAL: Duration = Duration::from_millis(20);
/// Shards the bot opens (`--shards`) unless `BEDSIDE_LOAD_SHARDS` is set.
const SHARDS: u32 = 2;

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

/// Posted in the other guild's #general during the flood, numbered as [`feedback_text`] is.
const OTHER_TEXT: &str = "The librarian recommended a great clinic and the staff were so kind, thank you!";
/// During the flood, a message in the other guild this often…
const OTHER_EVERY: Duration = Duration::from_millis(50);
/// …for at most this long: if the flood never drains, the other guild's messages stop coming, so
/// the drain's stall check can end the run with what is missing.
const OTHER_AT_MOST: Duration = Duration::from_secs(10);

fn feedback_text(i: usize) -> String {
    format!("{} #{}", TEXTS[i % TEXTS.len()], i + 1)
}

fn other_text(i: usize) -> String {
    format!("{OTHER_TEXT} #{}", i + 1)
}

/// A copy of the project's `config/` with no acknowledgement cooldown, so every feedback message
/// gets its own reply; the bot process reads it with `--config`.
fn config_dir(into: &Path) -> PathBuf {
    let dir = copy_config(into);
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

/// Messages in the other guild, one every [`OTHER_EVERY`], posted by a task of their own from the
/// flood's first dispatch until [`Trickle::stop`] (or [`OTHER_AT_MOST`]): a quiet guild's patients
/// posting while the flood is read and handled. Many of them, because one message's latency says
/// little about a machine whose cores the flood keeps busy.
struct Trickle {
    posted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Sent>>,
}

impl Trickle {
    /// Starts posting, unless the other guild's channel is not watched (nothing would answer).
    fn start(fake: &FakeDiscord, watched: bool) -> Trickle {
        let (posted, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(!watched)));
        let (fake, count, halt) = (fake.clone(), posted.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut sent = Vec::new();
            let mut tick = tokio::time::interval(OTHER_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if halt.load(Ordering::SeqCst) || started.elapsed() > OTHER_AT_MOST {
                    return sent;
                }
                let spec = MessageSpec::new(OTHER_CH_GENERAL, USER_PATIENT_A, other_text(sent.len()));
                let before = Instant::now();
                let id = fake.post_message(spec).await.expect("post in the other guild").get();
                sent.push(Sent::posted(id, OTHER_CH_GENERAL, before));
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Trickle { posted, stop, task }
    }

    /// How many have been posted so far.
    fn posted(&self) -> u64 {
        self.posted.load(Ordering::SeqCst)
    }

    /// Stops posting; gives every message posted.
    async fn stop(self) -> Vec<Sent> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the other guild's poster")
    }
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
    let texts = (0..steady_count + FLOOD).map(feedback_text).chain([other_text(0)]);
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
    let shards = match std::env::var("BEDSIDE_LOAD_SHARDS") {
        Ok(n) => n.trim().parse().expect("BEDSIDE_LOAD_SHARDS: a number of shards, 1 or more"),
        Err(_) => SHARDS,
    };
    let bot = BotProcess::start(&fake, &config, work.path(), shards).await;
    let (flood_shard, other_shard) = (fake.shard_of(Some(GUILD_ID)), fake.shard_of(Some(OTHER_GUILD_ID)));
    let ready_in = started.elapsed();
    let (status, stat) = (bot.proc("status"), bot.proc("stat"));
    let mem_ready = memory(&status);
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
        "  {shards} shard(s) (--shards {shards}): the flooded guild on shard {flood_shard}, the other guild on shard \
         {other_shard}{}",
        if flood_shard == other_shard { ", the same connection" } else { "" }
    );
    println!(
        "  latency = post_message() returned (MESSAGE_CREATE queued on the fake's socket) → fake received the ack POST;"
    );
    println!(
        "  split at the bot's `bedside::received` log event into delivery (posted → serenity handed it to Bedside) \
         and handling (→ ack POST)"
    );

    // 0. Idle: the ready bot left alone, a baseline of heartbeat timing without load.
    let idle_start = Instant::now();
    let clock = (idle_start, SystemTime::now());
    let cpu_idle = cpu_ticks(&stat);
    tokio::time::sleep(HEARTBEAT * IDLE_INTERVALS).await;
    let cpu_idle = cpu_between(cpu_idle, cpu_ticks(&stat));

    // 1. Steady: 100/s for 5 s.
    let seq = fake.dispatched();
    let cpu_steady = cpu_ticks(&stat);
    let mut steady = Vec::with_capacity(steady_count);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    let steady_start = Instant::now();
    for i in 0..steady_count {
        tick.tick().await;
        let spec = MessageSpec::new(CH_FEEDBACK, PATIENTS[i % PATIENTS.len()], feedback_text(i));
        let before = Instant::now();
        let id = fake.post_message(spec).await.expect("post a steady message").get();
        steady.push(Sent::posted(id, CH_FEEDBACK, before));
    }
    let steady_sent_in = steady_start.elapsed();
    drain(&fake, || seq + 3 * steady_count as u64, "steady phase").await;
    let steady_drained = Instant::now();
    let cpu_steady = cpu_between(cpu_steady, cpu_ticks(&stat));
    let mem_steady = memory(&status);

    // 2. Flood: 2,000 back to back, and 3. meanwhile, a message in the other guild every
    // `OTHER_EVERY` until the flood has drained.
    let seq = fake.dispatched();
    let mut flood = Vec::with_capacity(FLOOD);
    let cpu_flood = cpu_ticks(&stat);
    let flood_start = Instant::now();
    let trickle = Trickle::start(&fake, other_watched);
    for i in 0..FLOOD {
        let n = steady_count + i;
        let spec = MessageSpec::new(CH_FEEDBACK, PATIENTS[n % PATIENTS.len()], feedback_text(n));
        let before = Instant::now();
        let id = fake.post_message(spec).await.expect("post a flood message").get();
        flood.push(Sent::posted(id, CH_FEEDBACK, before));
    }
    let flood_dispatched_in = flood_start.elapsed();
    // Each flood message is dispatched with the echoes of its acknowledgement and its staff share;
    // each other guild's message with its acknowledgement's (and a share's, if it has one).
    let per_other = 2 + other_shares as u64;
    let handled = || seq + 3 * FLOOD as u64 + per_other * trickle.posted();
    drain(&fake, handled, "flood").await;
    let other_sent = trickle.stop().await;
    drain(&fake, || seq + 3 * FLOOD as u64 + per_other * other_sent.len() as u64, "the other guild").await;
    let flood_drained = Instant::now();
    let cpu_flood = cpu_between(cpu_flood, cpu_ticks(&stat));
    tokio::time::sleep(QUIET).await;
    let run_end = Instant::now();
    // The flooded guild's connection; the other guild's, if it has one of its own.
    let heartbeat_at = fake.heartbeat_times_of(flood_shard);
    let other_heartbeats = (other_shard != flood_shard).then(|| fake.heartbeat_times_of(other_shard));
    let received = bot.received();
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
    let ack_at = |s: &Sent| acks.get(&s.id).and_then(|a| a.first()).map(|a| a.received_at);
    let latency = |s: &Sent| ack_at(s).map(|a| a.saturating_duration_since(s.after));
    // When serenity handed the message to Bedside (the bot's log), on this process's clock; the
    // latency's two parts: the gateway's delivery and Bedside's handling.
    let received_at = |s: &Sent| received.get(&s.id).map(|at| s.on_clock(*at));
    let delivery = |s: &Sent| received_at(s).map(|r| r.saturating_duration_since(s.after));
    let handling = |s: &Sent| Some(ack_at(s)?.saturating_duration_since(received_at(s)?));
    // The bot's last REST call for a message (its acknowledgement or its staff share).
    let last_call = |s: &Sent| ack_at(s).max(share_times.get(&s.id).copied());

    // Correctness: every message acknowledged exactly once, in its channel, successfully; every
    // #feedback message shared with staff exactly once; nothing else acknowledged or shared.
    let everything: Vec<&Sent> = steady.iter().chain(&flood).chain(&other_sent).collect();
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
    let expected_shares = steady.len() + flood.len() + other_sent.len() * other_shares;
    let unlogged = everything.iter().filter(|s| !received.contains_key(&s.id)).count();

    // Figures.
    let steady_stats = stats(steady.iter().filter_map(latency).collect());
    let steady_delivery = stats(steady.iter().filter_map(delivery).collect());
    let steady_handling = stats(steady.iter().filter_map(handling).collect());
    let flood_stats = stats(flood.iter().filter_map(latency).collect());
    let flood_delivery = stats(flood.iter().filter_map(delivery).collect());
    let flood_handling = stats(flood.iter().filter_map(handling).collect());
    let post_cost = stats(steady.iter().chain(&flood).map(|s| s.after - s.before).collect());
    let flood_last_ack = flood.iter().filter_map(ack_at).max();
    let flood_last_share = flood.iter().filter_map(|s| share_times.get(&s.id).copied()).max();
    let drain_ack = flood_last_ack.map(|t| t - flood_start).unwrap_or_default();
    let drain_share = flood_last_share.map(|t| t - flood_start).unwrap_or_default();
    // The other guild's messages posted while the flood's were still being answered.
    let flood_answered = flood_last_ack.unwrap_or(flood_drained);
    let during: Vec<&Sent> = other_sent.iter().filter(|s| s.after < flood_answered).collect();
    let other_stats = stats(during.iter().filter_map(|s| latency(s)).collect());
    let other_delivery = stats(during.iter().filter_map(|s| delivery(s)).collect());
    let other_handling = stats(during.iter().filter_map(|s| handling(s)).collect());
    // Messages (the patients' and the echoes of the bot's own, on every shard) serenity handed over
    // while one of the other guild's was on its way to the bot. On one shard they were queued
    // ahead of it.
    let other_ahead = during
        .iter()
        .filter_map(|s| {
            let got = received.get(&s.id)?;
            Some(received.values().filter(|at| **at >= s.wall && *at < got).count())
        })
        .max();
    let other_unanswered = other_sent.iter().filter(|s| ack_at(s).is_none()).count();

    // Heartbeats by phase; each window ends when the bot made its last REST call for the phase.
    let steady_end = steady.iter().filter_map(last_call).max().unwrap_or(steady_drained);
    let flood_end = flood.iter().chain(during.iter().copied()).filter_map(last_call).max().unwrap_or(flood_drained);
    // When each message (the patients' and the echoes of the bot's own) reached the bot.
    let mut reads: Vec<Instant> = received.values().map(|at| on_clock(clock, *at)).collect();
    reads.sort();
    let hb_idle = Beats::between(HEARTBEAT, &heartbeat_at, idle_start, steady_start, &reads);
    let hb_steady = Beats::between(HEARTBEAT, &heartbeat_at, steady_start, steady_end, &reads);
    let hb_flood = Beats::between(HEARTBEAT, &heartbeat_at, flood_start, flood_end, &reads);
    let hb_all = Beats::between(HEARTBEAT, &heartbeat_at, idle_start, run_end, &reads);
    let verdict = heartbeat_verdict(&hb_idle, &hb_flood);
    // The other guild's connection had next to nothing to read during the flood: its heartbeats
    // wait for serenity's read timeouts, as the idle phase's do.
    let hb_other = other_heartbeats.as_ref().map(|at| Beats::between(HEARTBEAT, at, flood_start, flood_end, &[]));
    let reconnects = fake.connection_count() - connections_before;

    println!();
    println!("Idle: {} after ready, no messages", ms(steady_start - idle_start));
    println!("  CPU: {cpu_idle}");
    println!("Steady: {steady_count} messages at {STEADY_RATE}/s, dispatched over {}", ms(steady_sent_in));
    println!("  latency {}", steady_stats.line());
    println!("  {}", split_line(&steady_delivery, &steady_handling));
    println!("  CPU: {cpu_steady}");
    // How long after the last heartbeat each message was posted: were the slowest steady messages
    // the ones right after a heartbeat?
    let since_heartbeat = |s: &Sent| heartbeat_at.iter().rev().find(|h| **h <= s.after).map(|h| s.after - *h);
    let near = |s: &&Sent| since_heartbeat(s).is_some_and(|d| d <= NEAR_HEARTBEAT);
    let mut slowest: Vec<(usize, &Sent, Duration)> =
        steady.iter().enumerate().filter_map(|(i, s)| Some((i, s, latency(s)?))).collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.2));
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
    println!(
        "  posted ≤ {} ms after a heartbeat (n={}): p50 {}, p99 {}; the others (n={}): p50 {}, p99 {}",
        NEAR_HEARTBEAT.as_millis(),
        near_stats.n,
        ms(near_stats.p50),
        ms(near_stats.p99),
        rest_stats.n,
        ms(rest_stats.p50),
        ms(rest_stats.p99)
    );
    println!(
        "Flood: {FLOOD} messages dispatched in {} ({:.0}/s from the fake)",
        ms(flood_dispatched_in),
        FLOOD as f64 / flood_dispatched_in.as_secs_f64()
    );
    println!("  latency {}", flood_stats.line());
    println!("  {}", split_line(&flood_delivery, &flood_handling));
    println!("  CPU from first dispatch until drained: {cpu_flood}");
    println!(
        "  drain: first dispatch → last acknowledgement {} ({:.0} messages/s); → last staff share {}",
        ms(drain_ack),
        FLOOD as f64 / drain_ack.as_secs_f64().max(1e-9),
        ms(drain_share)
    );
    if !other_watched {
        println!("Other guild: #{other_name} is not watched; nothing posted there");
    } else if other_stats.n == 0 {
        println!("Other guild during the flood (#{other_name}): none of its messages was acknowledged");
    } else {
        println!(
            "Other guild during the flood (#{other_name}, watched): one message every {} ms while the flood's were \
             answered ({} of {} posted; the rest came after)",
            OTHER_EVERY.as_millis(),
            during.len(),
            other_sent.len()
        );
        println!("  latency {}", other_stats.line());
        println!(
            "  {} (while one was on its way, serenity handed the bot up to {} others, on any connection)",
            split_line(&other_delivery, &other_handling),
            other_ahead.unwrap_or_default()
        );
        println!("  {}", other_verdict(&other_stats, &steady_stats, &flood_stats));
    }
    if unlogged > 0 {
        println!(
            "  !! {unlogged} of {} messages have no `bedside::received` event in the bot's log (left out of the splits)",
            everything.len()
        );
    }
    println!(
        "Heartbeats (exact arrival times at the fake; interval {} ms; serenity checks between gateway reads, which \
         wait up to 500 ms):",
        HEARTBEAT.as_millis()
    );
    println!("  idle   ({}): {}", ms(steady_start - idle_start), hb_idle.line());
    println!("  steady ({}): {}", ms(steady_end - steady_start), hb_steady.line());
    println!("  flood  ({}, first dispatch → drained): {}", ms(flood_end - flood_start), hb_flood.line());
    if let Some(other) = &hb_other {
        println!("  flood, on the other guild's shard {other_shard}: {}", other.line());
    }
    println!("  whole run ({}): {}; gateway reconnects: {reconnects}", ms(run_end - idle_start), hb_all.line());
    println!("  verdict: {verdict}");
    if hb_idle.late().is_some_and(|l| l < BASELINE_MARGIN)
        && HEARTBEAT.as_millis() % SERENITY_READ_TIMEOUT.as_millis() == 0
    {
        println!(
            "  note: the idle heartbeats are nearly on time because the {} ms interval is a whole number of serenity's \
             {} ms read timeouts, counted from each heartbeat's ACK, so a read times out just as the next falls due; \
             a read started at any other moment (as after a burst of messages) ends up to {} ms after it",
            HEARTBEAT.as_millis(),
            SERENITY_READ_TIMEOUT.as_millis(),
            SERENITY_READ_TIMEOUT.as_millis()
        );
    }
    println!("The fake's post_message() itself: {}", post_cost.line());
    let pair = |m: Memory| format!("{} / {}", mb(m.peak), mb(m.rss));
    println!(
        "Memory of the bot process (its store a SQLite file, as in production), VmHWM / VmRSS: ready {}; \
         after steady {}; end {} (RSS: RssAnon {} heap and stacks, RssFile {} code and other file pages)",
        pair(mem_ready),
        pair(mem_steady),
        pair(mem_end),
        mb(mem_end.anon),
        mb(mem_end.file)
    );
    println!("Load average (1/5/15 min) at start {load_start}, at end {}", loadavg());
    println!(
        "Correctness: {} messages, {total_acks} acknowledgements, {total_shares} staff shares (expected {expected_shares}), {} other REST calls {:?}",
        everything.len(),
        other_calls.values().sum::<usize>(),
        other_calls
    );

    println!();
    println!(
        "| load (release build, 2-core machine, the bot process with --shards {shards} + the fake Discord) | figure | goal |"
    );
    println!("|---|---|---|");
    println!(
        "| steady: {STEADY_RATE} feedback messages/s for {STEADY_SECS} s, MESSAGE_CREATE → acknowledgement POST | p50 **{}**, p99 **{}** (max {}) | p99 < {} ms |",
        ms(steady_stats.p50),
        ms(steady_stats.p99),
        ms(steady_stats.max),
        STEADY_GOAL.as_millis()
    );
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
    if other_stats.n > 0 {
        println!(
            "| other guild during the flood: a message every {} ms, MESSAGE_CREATE → acknowledgement POST | p50 {}, \
             p99 **{}** (max {}; n={}) = delivery p50 {} / p99 {} + handling p50 {} / p99 {} | p99 < {} ms, as at the \
             steady rate |",
            OTHER_EVERY.as_millis(),
            ms(other_stats.p50),
            ms(other_stats.p99),
            ms(other_stats.max),
            other_stats.n,
            ms(other_delivery.p50),
            ms(other_delivery.p99),
            ms(other_handling.p50),
            ms(other_handling.p99),
            STEADY_GOAL.as_millis()
        );
    }
    println!(
        "| heartbeats ({} ms interval), longest gap idle / steady / flood | {} / {} / {} ({} in the flood's {}){}, \
         {reconnects} reconnects | flood ≤ idle + {} ms |",
        HEARTBEAT.as_millis(),
        hb_idle.longest_ms(),
        hb_steady.longest_ms(),
        hb_flood.longest_ms(),
        hb_flood.count,
        ms(flood_end - flood_start),
        hb_other.as_ref().map_or(String::new(), |o| format!("; other guild's shard in the flood {}", o.longest_ms())),
        BASELINE_MARGIN.as_millis()
    );
    println!(
        "| peak memory of the bot process (VmHWM) | {} ({} once it was ready); at the end RSS {}, of which code and \
         other file pages {} | < 50 MB |",
        mb(mem_end.peak),
        mb(mem_ready.peak),
        mb(mem_end.rss),
        mb(mem_end.file)
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
    assert_eq!(other_unanswered, 0, "every message in the other guild acknowledged");
}

/// How the other guild's latency during the flood compares with the steady phase's, and with the
/// flood's own messages (which wait their turn in their guild's lane).
fn other_verdict(other: &Stats, steady: &Stats, flood: &Stats) -> String {
    if other.p99 <= STEADY_GOAL {
        format!(
            "p99 {} is within the steady rate's goal ({} ms; the steady phase's own p99 was {}), against the flood's \
             own p50 {}: the flood did not hold the other guild up",
            ms(other.p99),
            STEADY_GOAL.as_millis(),
            ms(steady.p99),
            ms(flood.p50)
        )
    } else {
        format!(
            "p99 {} is above the steady rate's goal ({} ms; the steady phase's own p99 was {}): the flood delayed \
             the other guild",
            ms(other.p99),
            STEADY_GOAL.as_millis(),
            ms(steady.p99)
        )
    }
}

#[test]
fn reads_the_bots_received_events() {
    use support::bot_process::{parse_utc, received_event, strip_ansi};

    let day = |s: &str| parse_utc(s).map(|t| t.duration_since(UNIX_EPOCH).expect("after the epoch"));
    assert_eq!(day("1970-01-01T00:00:00.000001Z"), Some(Duration::from_micros(1)));
    assert_eq!(day("2000-03-01T00:00:00Z"), Some(Duration::from_secs(951_868_800)));
    assert_eq!(day("2024-02-29T12:00:00.5Z"), Some(Duration::from_millis(1_709_208_000_500)));
    assert_eq!(day("2026-11-25T18:42:05.661956Z"), Some(Duration::from_micros(1_795_632_125_661_956)));
    assert_eq!(day("2026-13-25T18:42:05Z"), None);
    assert_eq!(day("not a time"), None);

    let at = UNIX_EPOCH + Duration::from_micros(1_795_632_125_661_956);
    let line = "2026-11-25T18:42:05.661956Z DEBUG bedside::received: message received message_id=1180000000000012345";
    assert_eq!(received_event(line), Some((1_180_000_000_000_012_345, at)));
    let coloured = "\u{1b}[2m2026-11-25T18:42:05.661956Z\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m \
                    \u{1b}[2mbedside::received\u{1b}[0m\u{1b}[2m:\u{1b}[0m message received \u{1b}[3mmessage_id\u{1b}[0m\u{1b}[2m=\u{1b}[0m7";
    assert_eq!(received_event(&strip_ansi(coloured)), Some((7, at)));
    assert_eq!(received_event("2026-11-25T18:42:05.661956Z  WARN bedside::discord: could not post 12"), None);
}
