//! Nothing lost, nothing leaked: the store and the outbox across restarts, outages and downtime,
//! stagnation reminders on a moved clock, and a privacy sweep of the database and the logs.
//! Against the fake Discord in `tests/support`, with file-backed stores in temporary folders.

mod support;

use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bedside::discord::{Overrides, Services};
use bedside::setup::Setup;
use bedside::store::Store;
use support::fake_discord::*;
use support::running::{Running, posts_to, start_bot};

const WAIT: Duration = Duration::from_secs(15);
const QUIET: Duration = Duration::from_millis(800);
const DAY: u64 = 86_400;

async fn within<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(90), f).await.expect("test exceeded its time limit");
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Every log line of this test binary, to search for leaks.
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        struct Sink;
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                logs().lock().map(|mut l| l.extend_from_slice(buf)).ok();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("bedside=debug"))
            .with_ansi(false)
            .with_writer(|| Sink)
            .try_init();
        Mutex::new(Vec::new())
    })
}

/// A clock the test moves.
fn clock(start: u64) -> (Arc<AtomicU64>, bedside::discord::Clock) {
    let now = Arc::new(AtomicU64::new(start));
    let read = now.clone();
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

async fn start(fake: &FakeDiscord, setup: Setup, store: Store, clock: bedside::discord::Clock) -> Running {
    logs();
    start_bot(fake, setup, Overrides::default(), Services { clock, ..Services::new(Arc::new(store)) }).await
}

fn delivered(fake: &FakeDiscord, channel: u64) -> usize {
    fake.requests().iter().filter(|r| posts_to(channel)(r) && r.status == Some(200)).count()
}

fn open(path: &Path) -> Store {
    // The previous bot may take a moment to drop its handle after it stops.
    for _ in 0..50 {
        match Store::open(path) {
            Ok(store) => return store,
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Store::open(path).expect("store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_before_the_dm_is_sent_delivers_it_exactly_once() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bedside.db");
        let fake = FakeDiscord::start().await;
        // Discord is down for DMs while the first bot runs: its in-process retries all fail (six
        // tries; it is stopped after three, so at most three failures are left for the restart,
        // which its own retries ride out).
        fake.script("POST", "/users/@me/channels", vec![Scripted::status(503); 6]);
        let (_, system) = clock(unix_now());
        let first = start(&fake, Setup::load(None).expect("config"), open(&db), system).await;
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_requests(|r| r.is("POST", "/users/@me/channels"), 3, WAIT).await.expect("tried the DM");
        first.stop().await;
        assert_eq!(delivered(&fake, fake.dm_channel(USER_PRIYA_RAMAN)), 0);

        // Restarted a minute later (past the retry delay), with Discord healthy again.
        let (_, later) = clock(unix_now() + 3600);
        let second = start(&fake, Setup::load(None).expect("config"), open(&db), later).await;
        fake.wait_for_request(posts_to(fake.dm_channel(USER_PRIYA_RAMAN)), WAIT)
            .await
            .expect("the pending DM is delivered");
        tokio::time::sleep(QUIET).await;
        assert_eq!(delivered(&fake, fake.dm_channel(USER_PRIYA_RAMAN)), 1, "exactly once");
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 1, "the alert too, once");
        second.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_posted_while_down_are_handled_once_after_coming_back() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bedside.db");
        let fake = FakeDiscord::start().await;
        let (_, system) = clock(unix_now());
        let first = start(&fake, Setup::load(None).expect("config"), open(&db), system.clone()).await;
        tokio::time::sleep(QUIET).await;
        first.stop().await;

        // While Bedside is down (for over two days): feedback from 50 hours ago (older than
        // acknowledgements.max_age_hours = 48, inside the 72-hour catch-up window), then a staff
        // problem and fresh feedback.
        let old_id = (((unix_now() - 50 * 3600) * 1000 - 1_420_070_400_000) << 22) + 7;
        fake.seed_history(
            CH_ASK_THE_CLINIC,
            vec![
                MessageSpec::new(
                    CH_ASK_THE_CLINIC,
                    USER_PATIENT_B,
                    "I waited an hour past my appointment and nobody called. Unacceptable.",
                )
                .with_id(old_id),
                MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"),
                MessageSpec::new(
                    CH_ASK_THE_CLINIC,
                    USER_PATIENT_C,
                    "The hygienist was so gentle today, thank you all!",
                ),
            ],
        )
        .expect("history");

        let second = start(&fake, Setup::load(None).expect("config"), open(&db), system.clone()).await;
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the missed flag");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_FEEDBACK)(r), 2, WAIT).await.expect("both feedbacks shared");
        tokio::time::sleep(QUIET).await;
        let replies: Vec<_> = fake.requests().into_iter().filter(|r| posts_to(CH_ASK_THE_CLINIC)(r)).collect();
        assert_eq!(replies.len(), 1, "only the fresh feedback gets a public reply: {replies:?}");
        second.stop().await;

        // Coming back again reads the same history: nothing is acted on twice.
        let third = start(&fake, Setup::load(None).expect("config"), open(&db), system).await;
        tokio::time::sleep(QUIET * 2).await;
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 1);
        assert_eq!(delivered(&fake, CH_STAFF_FEEDBACK), 2);
        third.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_rest_failures_then_recovery_lose_nothing() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeDiscord::start().await;
        fake.script("POST", &format!("/channels/{CH_STAFF_ALERTS}/messages"), vec![Scripted::status(500); 5]);
        let (_, system) = clock(unix_now());
        let bot = start(&fake, Setup::load(None).expect("config"), open(&dir.path().join("b.db")), system).await;
        fake.post_message(MessageSpec::new(
            CH_GENERAL,
            USER_MAYA_CHEN,
            "Mrs. Alvarez, your crown fitting on 10/14 is confirmed",
        ))
        .await
        .expect("post");
        let tries =
            fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 6, WAIT).await.expect("retried until it worked");
        assert_eq!(tries.iter().filter(|r| r.status == Some(500)).count(), 5);
        assert_eq!(tries.last().and_then(|r| r.status), Some(200));
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_channel_gets_one_reminder_per_period_and_its_button_posts_the_tip() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeDiscord::start().await;
        let mut setup = Setup::load(None).expect("config");
        let mut config = (*setup.config).clone();
        config.stagnation.check_every = Duration::from_millis(200);
        config.discord.watch = vec!["health-tips".into()];
        setup.config = Arc::new(config);
        let start_at = unix_now();
        let (now, moved) = clock(start_at);
        let bot = start(&fake, setup, open(&dir.path().join("b.db")), moved).await;
        tokio::time::sleep(QUIET).await;
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 0, "not quiet yet");

        now.store(start_at + 6 * DAY, Ordering::SeqCst);
        let reminder = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("a reminder");
        let body = reminder.body.clone().expect("body").to_string();
        assert!(body.contains(&CH_HEALTH_TIPS.to_string()) && body.contains("Post this tip"), "{body}");
        tokio::time::sleep(QUIET).await;
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 1, "once per period");

        now.store(start_at + 12 * DAY, Ordering::SeqCst);
        fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 2, WAIT).await.expect("the next period's reminder");

        let button = body
            .split("tip:")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(|id| format!("tip:{id}"))
            .expect("button id");
        let press =
            fake.button_click(ButtonSpec::new(CH_STAFF_ALERTS, USER_SAM_WHITAKER, button)).await.expect("click");
        fake.wait_for_request(posts_to(CH_HEALTH_TIPS), WAIT).await.expect("the tip is posted");
        let callback = format!("/interactions/{press}/{}/callback", fake.interaction_token(press));
        fake.wait_for_request(|r| r.is("POST", &callback), WAIT).await.expect("answered");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_can_mark_a_flag_not_a_problem_and_dismissals_are_kept_per_rule() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("b.db");
        let fake = FakeDiscord::start().await;
        let (_, system) = clock(unix_now());
        let bot = start(&fake, Setup::load(None).expect("config"), open(&db), system).await;
        let msg = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request(posts_to(fake.dm_channel(USER_PRIYA_RAMAN)), WAIT).await.expect("dm");
        let custom = format!("dismiss:author:{msg}");
        let dm = fake.dm_channel(USER_PRIYA_RAMAN);
        let stranger = fake.button_click(ButtonSpec::new(dm, USER_PATIENT_A, custom.clone())).await.expect("click");
        let callback = format!("/interactions/{stranger}/{}/callback", fake.interaction_token(stranger));
        let refused = fake.wait_for_request(|r| r.is("POST", &callback), WAIT).await.expect("answered");
        assert!(refused.body.expect("body").to_string().contains("Only the author"));
        let own = fake.button_click(ButtonSpec::new(dm, USER_PRIYA_RAMAN, custom)).await.expect("click");
        let callback = format!("/interactions/{own}/{}/callback", fake.interaction_token(own));
        fake.wait_for_request(|r| r.is("POST", &callback), WAIT).await.expect("answered");
        bot.stop().await;
        let store = open(&db);
        let flag = store.flag(msg.get()).expect("read").expect("flag");
        assert_eq!(flag.status, "dismissed");
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_identifier_survives_in_the_database_or_the_logs() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bedside.db");
        let fake = FakeDiscord::start().await;
        let mut setup = Setup::load(None).expect("config");
        let mut config = (*setup.config).clone();
        config.remove_at = Some(bedside::detect::Severity::High);
        setup.config = Arc::new(config);
        let (_, system) = clock(unix_now());
        let bot = start(&fake, setup, open(&db), system).await;
        let (name, ssn, phone, mrn) = ("Alvarez", "219-09-9998", "971-555-0164", "MRN 00482913");
        fake.post_message(MessageSpec::new(
            CH_ASK_THE_CLINIC,
            USER_PRIYA_RAMAN,
            format!("Mrs. {name} needs her SSN {ssn} on the form, her cell is {phone}, chart {mrn}"),
        ))
        .await
        .expect("post");
        fake.post_message(MessageSpec::new(
            CH_FEEDBACK,
            USER_PATIENT_A,
            format!("Mrs. {name} here, the front desk was so kind today, thank you! call me {phone}"),
        ))
        .await
        .expect("post");
        fake.wait_for_request(posts_to(fake.dm_channel(USER_PRIYA_RAMAN)), WAIT)
            .await
            .expect("dm with the returned text");
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert");
        fake.wait_for_request(posts_to(CH_STAFF_FEEDBACK), WAIT).await.expect("share");
        tokio::time::sleep(QUIET).await;
        bot.stop().await;

        let mut files = vec![std::fs::read(&db).expect("database file")];
        for extra in ["bedside.db-journal", "bedside.db-wal"] {
            if let Ok(bytes) = std::fs::read(dir.path().join(extra)) {
                files.push(bytes);
            }
        }
        let logged = logs().lock().expect("logs").clone();
        for secret in [name, ssn, phone, "00482913"] {
            for (i, bytes) in files.iter().enumerate() {
                assert!(!contains(bytes, secret.as_bytes()), "{secret} found in database file #{i}");
            }
            assert!(!contains(&logged, secret.as_bytes()), "{secret} found in the logs");
        }
        assert!(!logged.is_empty(), "logs were captured");
        fake.shutdown().await;
    })
    .await;
}

/// A DM is delivered, then the store cannot record it (another process holds the database locked
/// while Discord's answer is on its way). The result is kept and recorded once the lock is gone; the
/// DM is not sent again, and the alert that waits for it follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_mark_fails_is_recorded_later_and_never_sent_twice() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bedside.db");
        let fake = FakeDiscord::start().await;
        let dm = fake.dm_channel(USER_PRIYA_RAMAN);
        fake.script("POST", &format!("/channels/{dm}/messages"), vec![Scripted::delay(Duration::from_millis(1500))]);
        // A clock that runs: the result is recorded again two seconds after the failure.
        let system: bedside::discord::Clock = Arc::new(unix_now);
        let bot = start(&fake, Setup::load(None).expect("config"), open(&db), system).await;
        let msg = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request_received(posts_to(dm), WAIT).await.expect("the DM is on its way");
        let holder = rusqlite::Connection::open(&db).expect("another process");
        holder.execute_batch("BEGIN EXCLUSIVE;").expect("hold the write lock");
        // Discord answers at 1.5 s; the mark then waits out the store's busy timeout and fails.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        holder.execute_batch("COMMIT;").expect("release");
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the alert follows, once recorded");
        tokio::time::sleep(QUIET).await;
        bot.stop().await;
        let logged = String::from_utf8_lossy(&logs().lock().expect("logs")).into_owned();
        assert!(
            logged.contains("could not record a delivery's result"),
            "the positive control: the mark did fail while the database was locked"
        );
        assert_eq!(delivered(&fake, dm), 1, "the DM was sent once");
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 1, "and the alert once");
        let state = open(&db).action_state("dm", msg.get()).expect("read");
        assert_eq!(state.map(|(status, _)| status).as_deref(), Some("sent"), "recorded in the end");
        fake.shutdown().await;
    })
    .await;
}

/// A DM is delivered, but its mark never takes effect: the database is locked while Discord's
/// answer comes back, and Bedside stops before the lock is gone. After the restart the DM is still
/// pending and is sent again, with the same nonce, which Discord answers with the message it
/// already has (`enforce_nonce`): the author has one DM, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_sent_again_after_a_lost_mark_posts_no_second_message() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("bedside.db");
        let fake = FakeDiscord::start().await;
        let dm = fake.dm_channel(USER_PRIYA_RAMAN);
        fake.script("POST", &format!("/channels/{dm}/messages"), vec![Scripted::delay(Duration::from_millis(1500))]);
        let system: bedside::discord::Clock = Arc::new(unix_now);
        let first = start(&fake, Setup::load(None).expect("config"), open(&db), system.clone()).await;
        let msg = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request_received(posts_to(dm), WAIT).await.expect("the DM is on its way");
        let holder = rusqlite::Connection::open(&db).expect("another process");
        holder.execute_batch("BEGIN EXCLUSIVE;").expect("hold the write lock");
        fake.wait_for_request(posts_to(dm), WAIT).await.expect("the DM is delivered");
        // The mark waits out the store's busy timeout (0.5 s) and fails; Bedside stops meanwhile,
        // and a store call still blocked when it stopped gives up before the lock goes.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        first.stop().await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let dm_state = |db: &rusqlite::Connection| -> String {
            let sql = "SELECT status FROM outbox WHERE kind = 'dm' AND message_id = ?1";
            db.query_row(sql, [msg.get() as i64], |r| r.get(0)).expect("the DM's action")
        };
        // The positive controls: the DM did arrive, and the store did not hear of it.
        assert_eq!(fake.channel_messages(dm).len(), 1, "the DM arrived");
        assert_eq!(dm_state(&holder), "pending", "its mark did not take effect");
        holder.execute_batch("COMMIT;").expect("release");
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 0, "the alert waits for the DM");

        let second = start(&fake, Setup::load(None).expect("config"), open(&db), system).await;
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the alert follows the DM");
        tokio::time::sleep(QUIET).await;
        second.stop().await;
        let sends: Vec<_> = fake.requests().into_iter().filter(|r| posts_to(dm)(r)).collect();
        assert_eq!(sends.len(), 2, "the DM was sent again after the restart");
        assert!(sends.iter().all(|r| r.status == Some(200)), "and answered both times");
        assert_eq!(sends[0].json_field("nonce"), sends[1].json_field("nonce"), "with the same nonce");
        assert_eq!(fake.channel_messages(dm).len(), 1, "the author still has one DM");
        assert_eq!(delivered(&fake, CH_STAFF_ALERTS), 1, "and staff one alert");
        assert_eq!(dm_state(&holder), "sent", "recorded in the end");
        fake.shutdown().await;
    })
    .await;
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_get_the_report_with_its_chart_and_patients_do_not() {
    within(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = FakeDiscord::start().await;
        let (_, system) = clock(unix_now());
        let bot = start(&fake, Setup::load(None).expect("config"), open(&dir.path().join("b.db")), system).await;
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert");
        let ask = |user| SlashSpec::new(CH_GENERAL, user, "bedside").option(SlashOption::subcommand("report", vec![]));
        let id = fake.slash_command(ask(USER_SAM_WHITAKER)).await.expect("slash");
        let callback = format!("/interactions/{id}/{}/callback", fake.interaction_token(id));
        let answer = fake.wait_for_request(|r| r.is("POST", &callback), WAIT).await.expect("answer");
        let body = answer.body.clone().expect("body").to_string();
        assert!(body.contains("Bedside report") && body.contains("advice.dose"), "{body}");
        assert!(
            format!("{:?}", answer.files).contains("bedside-report.svg"),
            "the chart is attached: {:?}",
            answer.files
        );
        let id = fake.slash_command(ask(USER_PATIENT_A)).await.expect("slash");
        let callback = format!("/interactions/{id}/{}/callback", fake.interaction_token(id));
        let answer = fake.wait_for_request(|r| r.is("POST", &callback), WAIT).await.expect("answer");
        assert!(answer.body.expect("body").to_string().contains("for staff"));
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}
