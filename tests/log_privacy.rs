//! No message content in the bot's logs, whatever serenity and its dependencies log: the real
//! `bedside run` binary, in its own process, against the fake Discord, at the default log level,
//! `RUST_LOG=debug` and `RUST_LOG=trace`. The fake sends what serenity cannot parse — a
//! MESSAGE_CREATE with a broken field (serenity logs it whole at debug) and a frame with a broken
//! envelope (logged whole at warn) — and a valid staff message, all carrying planted identifiers.
//! Everything the process writes (stdout and stderr) is searched for them.
//!
//! Positive controls, in the same run: the valid message is flagged (the pipeline ran, after the
//! broken frames), and the bot's log reports the dependency events it withheld, at the levels where
//! serenity logs the broken frames (so they reached serenity and were logged, then kept out).

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_discord::*;
use support::running::{posts_to, wait_connected};

const WAIT: Duration = Duration::from_secs(20);

/// The planted identifiers: none may appear anywhere in the process's output.
const NAME: &str = "Ottoline Vasquez-Hale";
const DOB: &str = "04/17/1938";
const MRN: &str = "88301472";
const PHONE: &str = "971-555-0199";

async fn within<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(120), f).await.expect("test exceeded its time limit");
}

/// Runs the bot with `rust_log` (`None`: the default filter), sends the broken frames and a valid
/// flagged message, stops it, and returns everything it wrote.
async fn run_and_capture(rust_log: Option<&str>) -> String {
    let fake = FakeDiscord::start().await;
    let work = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_bedside"));
    command
        .arg("run")
        .env_clear()
        .env("DISCORD_TOKEN", fake.token())
        .env("BEDSIDE_DISCORD_API", fake.api_base())
        .env("DATABASE_URL", format!("sqlite://{}", work.path().join("bedside.db").display()))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(level) = rust_log {
        command.env("RUST_LOG", level);
    }
    let mut child = command.spawn().expect("start the bedside binary");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut stdout = child.stdout.take().expect("stdout");
    // Read on threads of their own, so the bot never waits on a full pipe (trace is verbose).
    let err_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all);
        all
    });
    let out_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        all
    });
    wait_connected(&fake).await;

    // A MESSAGE_CREATE whose `author` is a string, not a user: serenity cannot read the body.
    let broken_field = json!({
        "id": "1180000000000090001",
        "channel_id": CH_ASK_THE_CLINIC.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": format!("{NAME} DOB {DOB}"),
        "content": format!("{NAME}, DOB {DOB}, MRN {MRN}, cell {PHONE}"),
        "timestamp": "2026-12-04T20:00:00.000000+00:00",
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": false, "type": 0
    });
    fake.dispatch_unchecked("MESSAGE_CREATE", broken_field).await.expect("broken field sent");
    // A dispatch whose envelope is broken (`s` must be a number): serenity cannot read the frame.
    let broken_envelope = json!({
        "op": 0, "t": "MESSAGE_CREATE", "s": format!("{NAME} {MRN}"),
        "d": {"content": format!("{NAME}, DOB {DOB}, MRN {MRN}, cell {PHONE}"), "guild_id": GUILD_ID.to_string()}
    });
    fake.send_raw_frame(Some(GUILD_ID), broken_envelope.to_string()).expect("broken envelope sent");

    // Then a valid staff message with the same identifiers: flagged, so the bot kept working.
    fake.post_message(MessageSpec::new(
        CH_ASK_THE_CLINIC,
        USER_PRIYA_RAMAN,
        format!("{NAME}, DOB {DOB}, MRN {MRN} — her cell is {PHONE}, please call the patient back"),
    ))
    .await
    .expect("post");
    fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the valid message is flagged");

    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(sent.success(), "SIGTERM sent");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the bot") {
            break status;
        }
        assert!(Instant::now() < deadline, "the bot stops within {WAIT:?} of SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut all = err_reader.join().expect("stderr reader");
    all.extend(out_reader.join().expect("stdout reader"));
    assert!(status.success(), "the bot exits cleanly: {status}");
    fake.shutdown().await;
    String::from_utf8_lossy(&all).into_owned()
}

/// The counts in the bot's "withheld" report: `[error, warn, info, debug, trace]`.
fn withheld(log: &str) -> [u64; 5] {
    let Some(line) = log.lines().find(|l| l.contains("dependency log events withheld")) else { return [0; 5] };
    let count = |name: &str| {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(&format!("{name}=")).and_then(|n| n.parse().ok()))
            .unwrap_or(0)
    };
    [count("error"), count("warn"), count("info"), count("debug"), count("trace")]
}

fn assert_no_planted(log: &str, level: &str) {
    assert!(!log.is_empty(), "{level}: the bot's output was captured");
    for planted in [NAME, "Ottoline", "Vasquez", DOB, MRN, PHONE] {
        if let Some(at) = log.find(planted) {
            let from = log[..at].rfind('\n').map_or(0, |n| n + 1);
            let to = log[at..].find('\n').map_or(log.len(), |n| at + n);
            panic!("{level}: {planted:?} is in the log: {}", &log[from..to]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_default_level_nothing_planted_reaches_the_log() {
    within(async {
        let log = run_and_capture(None).await;
        assert_no_planted(&log, "default");
        let [_, warn, _, debug, trace] = withheld(&log);
        assert!(warn >= 1, "serenity's warning about the broken envelope was withheld: {log}");
        assert_eq!(debug + trace, 0, "nothing below warn is on by default");
        assert!(!log.contains("DEBUG") && !log.contains("TRACE"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_debug_nothing_planted_reaches_the_log() {
    within(async {
        let log = run_and_capture(Some("debug")).await;
        assert_no_planted(&log, "debug");
        let [_, warn, _, debug, _] = withheld(&log);
        assert!(warn >= 1, "the broken envelope's warning was withheld");
        assert!(debug >= 1, "serenity's 'unknown event' (the broken field) was withheld");
        assert!(log.contains(" DEBUG "), "debug events were on");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_nothing_planted_reaches_the_log() {
    within(async {
        let log = run_and_capture(Some("trace")).await;
        assert_no_planted(&log, "trace");
        let [_, warn, _, debug, trace] = withheld(&log);
        assert!(warn >= 1 && debug >= 1, "the broken frames' events were withheld");
        assert!(trace >= 1, "the websocket's frame dumps were withheld");
        assert!(log.contains(" TRACE "), "trace events were on");
    })
    .await;
}
