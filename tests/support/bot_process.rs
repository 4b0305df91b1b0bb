//! The bot as its own process: the real `bedside run` binary against the fake Discord, with the
//! environment a practice would set (`DISCORD_TOKEN`, `BEDSIDE_DISCORD_API` pointing at the fake,
//! `DATABASE_URL`), its stderr read by a thread of its own. The load run measures it; the live-bot
//! tests use it for what only a process has (signals).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::fake_discord::FakeDiscord;
use super::running::wait_connected;

/// How long the bot may take to stop after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// A copy of the project's `config/` in `into/config`, for a test to edit.
pub fn copy_config(into: &Path) -> PathBuf {
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
    dir
}

/// When the bot's log says serenity handed each message over: message id → wall-clock time.
pub type Received = Arc<Mutex<HashMap<u64, SystemTime>>>;

/// The bot, as its own process: `bedside run` with the environment a practice would set, plus the
/// `bedside::received` debug events on its stderr.
pub struct BotProcess {
    child: Child,
    received: Received,
    stderr: Option<std::thread::JoinHandle<()>>,
}

impl BotProcess {
    pub async fn start(fake: &FakeDiscord, config: &Path, work: &Path, shards: u32) -> BotProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bedside"))
            .args(["run", "--shards", &shards.to_string(), "--config"])
            .arg(config)
            .env_clear()
            .env("DISCORD_TOKEN", fake.token())
            .env("BEDSIDE_DISCORD_API", fake.api_base())
            .env("DATABASE_URL", format!("sqlite://{}", work.join("bedside.db").display()))
            .env("RUST_LOG", "bedside=warn,serenity=warn,bedside::received=debug")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bedside binary");
        let received = Received::default();
        let stderr = child.stderr.take().expect("the bot's stderr");
        let stderr = Some(read_stderr(stderr, received.clone()));
        let bot = BotProcess { child, received, stderr };
        wait_connected(fake).await;
        bot
    }

    pub fn proc(&self, file: &str) -> String {
        format!("/proc/{}/{file}", self.child.id())
    }

    /// When serenity handed each message over so far (by the bot's log).
    pub fn received(&self) -> HashMap<u64, SystemTime> {
        self.received.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends SIGHUP: the usual way to ask a daemon to read its configuration again.
    pub fn hangup(&self) {
        let sent = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "SIGHUP sent");
    }

    /// SIGTERM, then the exit status, which must be 0 (a clean shutdown).
    pub fn stop(mut self) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(sent.success(), "SIGTERM sent");
        let deadline = Instant::now() + STOP_WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the bot") {
                // Its last lines forwarded before the verdict.
                if let Some(reader) = self.stderr.take() {
                    let _ = reader.join();
                }
                assert!(status.success(), "the bot exits cleanly on SIGTERM: {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the bot stops within {STOP_WAIT:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Reads the bot's stderr until it closes: records each `bedside::received` event and forwards every
/// other line to this process's stderr (so the bot's warnings are still seen). A plain thread that
/// does nothing else, so the bot never waits on a full pipe.
pub fn read_stderr(stderr: impl Read + Send + 'static, received: Received) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match lines.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = strip_ansi(&String::from_utf8_lossy(&raw));
            let line = line.trim_end();
            match received_event(line) {
                Some((id, at)) => {
                    received.lock().unwrap_or_else(|e| e.into_inner()).entry(id).or_insert(at);
                }
                None => eprintln!("{line}"),
            }
        }
    })
}

/// Without ANSI escape sequences (`ESC [ … letter`), in case colour is on despite `NO_COLOR`.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `(message id, time)` of a `bedside::received` event in tracing-subscriber's default format
/// (`2026-11-25T18:42:05.661956Z DEBUG bedside::received: message received message_id=1180000000000012345`);
/// `None` for any other line.
pub fn received_event(line: &str) -> Option<(u64, SystemTime)> {
    let at = line.find(" bedside::received: ")?;
    let id = line[at..].split_whitespace().find_map(|t| t.strip_prefix("message_id=")?.parse().ok())?;
    Some((id, parse_utc(line.split_whitespace().next()?)?))
}

/// An RFC 3339 UTC timestamp as tracing-subscriber writes it (`2026-11-25T18:42:05.661956Z`).
pub fn parse_utc(stamp: &str) -> Option<SystemTime> {
    let (date, time) = stamp.strip_suffix('Z')?.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 || frac.len() > 9 {
        return None;
    }
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    Some(UNIX_EPOCH + Duration::new(days * 86_400 + h * 3_600 + min * 60 + sec, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
