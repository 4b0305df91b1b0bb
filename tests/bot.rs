//! The live bot end to end, offline: the unmodified serenity client inside `bedside::discord::run`
//! talks to the scripted fake Discord in `tests/support` (REST + gateway on 127.0.0.1), through
//! the same `api_base` path `BEDSIDE_DISCORD_API` gives users. No token, no internet; every wait
//! has a timeout.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bedside::detect::Severity;
use bedside::discord::{Overrides, Services};
use bedside::setup::Setup;
use bedside::store::Store;
use serde_json::Value;
use support::bot_process::{BotProcess, copy_config};
use support::fake_discord::*;
use support::running::{Running, posts_to, shared_message, start_bot};

const WAIT: Duration = Duration::from_secs(10);
/// How long to watch for something that must NOT happen.
const QUIET: Duration = Duration::from_millis(700);

async fn within<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(60), f).await.expect("test exceeded its time limit");
}

fn setup() -> Setup {
    Setup::load(None).expect("embedded configuration")
}

/// The embedded configuration with removal on for high-severity flags (`remove_at`).
fn setup_removing_at_high() -> Setup {
    let mut s = setup();
    let mut config = (*s.config).clone();
    config.remove_at = Some(Severity::High);
    s.config = Arc::new(config);
    s
}

/// Starts the bot against the fake, with a store in memory, and waits until it is ready in the
/// guild (commands registered).
async fn start(fake: &FakeDiscord, setup: Setup, overrides: Overrides) -> Running {
    start_with_store(fake, setup, overrides, Arc::new(Store::open_in_memory().expect("store"))).await
}

async fn start_with_store(fake: &FakeDiscord, setup: Setup, overrides: Overrides, store: Arc<Store>) -> Running {
    start_with(fake, setup, overrides, Services::new(store)).await
}

async fn start_with(fake: &FakeDiscord, setup: Setup, overrides: Overrides, services: Services) -> Running {
    start_bot(fake, setup, overrides, services).await
}

fn embed_text(r: &RecordedRequest) -> String {
    r.body.as_ref().map(Value::to_string).unwrap_or_default()
}

/// Checks that nothing was posted to `channel`, once `control` has been seen: something the same
/// run of the bot must have done by then. A dead pipeline fails the control instead of passing.
async fn nothing_posted_to(fake: &FakeDiscord, channel: u64, control: impl Fn(&RecordedRequest) -> bool) {
    fake.wait_for_request(control, WAIT).await.expect("the positive control: the bot did act on something");
    tokio::time::sleep(QUIET).await;
    let posts: Vec<_> = fake.requests().into_iter().filter(|r| posts_to(channel)(r)).collect();
    assert!(posts.is_empty(), "unexpected posts to {channel}: {posts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_problem_is_flagged_privately_by_dm_and_alert() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let msg = fake
            .post_message(MessageSpec::new(
                CH_ASK_THE_CLINIC,
                USER_PRIYA_RAMAN,
                "take 400mg ibuprofen every 6 hours for that tooth",
            ))
            .await
            .expect("post");

        let dm_channel = fake.dm_channel(USER_PRIYA_RAMAN);
        let dm = fake.wait_for_request(posts_to(dm_channel), WAIT).await.expect("a DM to the author");
        let dm = embed_text(&dm);
        assert!(dm.contains("advice.dose") && dm.contains("How to fix it"), "{dm}");
        assert!(dm.contains(&format!("{CH_ASK_THE_CLINIC}/{msg}")), "the DM links the message: {dm}");

        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("a staff alert");
        let alert = embed_text(&alert);
        assert!(alert.contains("advice.dose") && alert.contains(&format!("<@{USER_PRIYA_RAMAN}>")), "{alert}");
        nothing_posted_to(&fake, CH_ASK_THE_CLINIC, posts_to(CH_STAFF_ALERTS)).await;
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_dms_make_the_alert_mention_the_author() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let dm_channel = fake.dm_channel(USER_MAYA_CHEN);
        fake.script(
            "POST",
            &format!("/channels/{dm_channel}/messages"),
            vec![Scripted::discord_error(403, 50007, "Cannot send messages to this user")],
        );
        fake.post_message(MessageSpec::new(
            CH_GENERAL,
            USER_MAYA_CHEN,
            "Mrs. Alvarez, your crown fitting on 10/14 is confirmed",
        ))
        .await
        .expect("post");
        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert");
        let content = alert.json_field("content").and_then(Value::as_str).unwrap_or_default().to_string();
        assert!(content.contains(&format!("<@{USER_MAYA_CHEN}>")), "the alert pings the author: {content}");
        let pinged = alert.json_field("allowed_mentions").map(Value::to_string).unwrap_or_default();
        assert!(pinged.contains(&USER_MAYA_CHEN.to_string()), "{pinged}");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_gets_a_safe_reply_once_per_cooldown_and_a_staff_share() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let text = "Jenna at the front desk was so kind to my mum today, thank you!";
        let first = fake.post_message(MessageSpec::new(CH_FEEDBACK, USER_PATIENT_A, text)).await.expect("post");

        let reply = fake.wait_for_request(posts_to(CH_FEEDBACK), WAIT).await.expect("an acknowledgement");
        let body = reply.body.clone().expect("body");
        assert_eq!(body["message_reference"]["message_id"].as_str(), Some(first.to_string().as_str()));
        assert_eq!(body["allowed_mentions"]["replied_user"], Value::Bool(false), "no ping");
        let content = body["content"].as_str().expect("content");
        for leaked in ["Jenna", "mum", "front desk", "your visit"] {
            assert!(!content.contains(leaked), "the reply must not repeat or disclose: {content}");
        }
        let share = fake.wait_for_request(posts_to(CH_STAFF_FEEDBACK), WAIT).await.expect("shared with staff");
        assert!(embed_text(&share).contains("praise"));

        // The same patient again, within the cooldown: staff are told, no second public reply.
        fake.post_message(MessageSpec::new(
            CH_FEEDBACK,
            USER_PATIENT_A,
            "Honestly the best clinic, the nurses were amazing again today!",
        ))
        .await
        .expect("post");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_FEEDBACK)(r), 2, WAIT).await.expect("second share");
        tokio::time::sleep(QUIET).await;
        assert_eq!(
            fake.requests().iter().filter(|r| posts_to(CH_FEEDBACK)(r)).count(),
            1,
            "one acknowledgement per cooldown"
        );
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complaints_invite_private_contact() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        fake.post_message(MessageSpec::new(
            CH_FEEDBACK,
            USER_PATIENT_B,
            "Waited over an hour past my appointment and nobody called. Unacceptable.",
        ))
        .await
        .expect("post");
        let reply = fake.wait_for_request(posts_to(CH_FEEDBACK), WAIT).await.expect("reply");
        let content = reply.json_field("content").and_then(Value::as_str).unwrap_or_default().to_string();
        assert!(content.contains("(503) 555-0100"), "{content}");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_webhooks_system_messages_unwatched_channels_and_itself_are_ignored() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let problem = "take 400mg ibuprofen every 6 hours";
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, problem).bot_author(true))
            .await
            .expect("bot");
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, problem).webhook(77))
            .await
            .expect("webhook");
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, problem).kind(7))
            .await
            .expect("system");
        fake.post_message(MessageSpec::new(CH_ANNOUNCEMENTS, USER_PRIYA_RAMAN, problem)).await.expect("unwatched");
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, BOT_USER_ID, problem)).await.expect("itself");
        // The positive control: the same problem from a staff member, after all of those, is flagged.
        let control =
            fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, problem)).await.expect("staff");
        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the control is flagged");
        assert_eq!(shared_message(&alert), Some(control.get()), "the first alert is the control's");
        tokio::time::sleep(QUIET).await;
        let requests = fake.requests();
        let alerts: Vec<Option<u64>> =
            requests.iter().filter(|r| posts_to(CH_STAFF_ALERTS)(r)).map(shared_message).collect();
        assert_eq!(alerts, vec![Some(control.get())], "only the control was flagged");
        let dms = requests.iter().filter(|r| r.is("POST", "/users/@me/channels")).count();
        assert_eq!(dms, 1, "one DM opened: the control's author's");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_under_watched_channels_and_the_permission_fallback_count() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        // The moderator has no staff role, only Manage Messages: staff by the configured fallback.
        fake.post_message(MessageSpec::new(
            THREAD_ASK_THE_CLINIC,
            USER_MODERATOR,
            "that sounds like a classic UTI, start the nitrofurantoin tonight",
        ))
        .await
        .expect("post");
        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert for the thread");
        assert!(embed_text(&alert).contains(&THREAD_ASK_THE_CLINIC.to_string()));
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_returns_the_text_to_its_author_by_dm() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup_removing_at_high(), Overrides::default()).await;
        let text = "give Dana 7.5 ml of the kids ibuprofen every 6 hours, her mom's cell is 971-555-0164";
        let msg = fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_SAM_WHITAKER, text)).await.expect("post");
        fake.wait_for_request(|r| r.is("DELETE", &format!("/channels/{CH_ASK_THE_CLINIC}/messages/{msg}")), WAIT)
            .await
            .expect("removed");
        let dm = fake.wait_for_request(posts_to(fake.dm_channel(USER_SAM_WHITAKER)), WAIT).await.expect("dm");
        assert!(embed_text(&dm).contains(text), "the author gets their whole text back");
        let alert = embed_text(&fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert"));
        assert!(
            !alert.contains("Dana") && !alert.contains("555-0164"),
            "the staff channel gets a redacted excerpt: {alert}"
        );
        assert!(alert.contains("Removed"), "{alert}");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

/// Discord answers a removal of a message that is already gone with 404 Unknown Message: a removal
/// repeated after a restart lost its mark, or a moderator who was first. The post is down, so the
/// author and staff are told it was removed, not given the notice for a post still up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_of_a_message_already_gone_counts_as_removed() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup_removing_at_high(), Overrides::default()).await;
        fake.script(
            "DELETE",
            &format!("/channels/{CH_ASK_THE_CLINIC}/messages/*"),
            vec![Scripted::discord_error(404, 10008, "Unknown Message")],
        );
        let text = "give Dana 7.5 ml of the kids ibuprofen every 6 hours, her mom's cell is 971-555-0164";
        let msg = fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_SAM_WHITAKER, text)).await.expect("post");
        let delete = fake
            .wait_for_request(|r| r.is("DELETE", &format!("/channels/{CH_ASK_THE_CLINIC}/messages/{msg}")), WAIT)
            .await
            .expect("the removal is tried");
        assert_eq!(delete.status, Some(404), "and answered Unknown Message");
        let dm = fake.wait_for_request(posts_to(fake.dm_channel(USER_SAM_WHITAKER)), WAIT).await.expect("dm");
        assert!(embed_text(&dm).contains(text), "the removed variant returns the text: {}", embed_text(&dm));
        let alert = embed_text(&fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert"));
        assert!(alert.contains("Removed"), "{alert}");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_are_rechecked_a_fix_resolves_the_alert_and_a_new_problem_is_flagged() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let msg = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert");
        fake.edit_message(
            CH_ASK_THE_CLINIC,
            msg,
            "We'd want to take a look — please call us at (503) 555-0100 to book.",
        )
        .await
        .expect("edit");
        let resolved = fake
            .wait_for_request(
                |r| r.method == "PATCH" && r.path.starts_with(&format!("/channels/{CH_STAFF_ALERTS}/messages/")),
                WAIT,
            )
            .await
            .expect("the alert is updated");
        assert!(embed_text(&resolved).contains("Resolved by edit"));

        let other = fake
            .post_message(MessageSpec::new(
                CH_ASK_THE_CLINIC,
                USER_PRIYA_RAMAN,
                "Thanks for the question — call us to book!",
            ))
            .await
            .expect("post");
        fake.edit_message(CH_ASK_THE_CLINIC, other, "his cell is (971) 555-0164, can someone call the patient back")
            .await
            .expect("edit");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 2, WAIT).await.expect("the new problem is flagged");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draft_checks_answer_ephemerally_and_staff_commands_refuse_others() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let callback = |fake: &FakeDiscord, id| format!("/interactions/{id}/{}/callback", fake.interaction_token(id));

        let check = fake
            .slash_command(
                SlashSpec::new(CH_GENERAL, USER_PRIYA_RAMAN, "check")
                    .option(SlashOption::string("text", "take 400mg ibuprofen every 6 hours")),
            )
            .await
            .expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, check)), WAIT).await.expect("answer");
        let body = answer.body.clone().expect("body");
        assert_eq!(body["data"]["flags"], 64, "ephemeral");
        assert!(body.to_string().contains("advice.dose"));

        let target = fake
            .post_message(MessageSpec::new(CH_ANNOUNCEMENTS, USER_SAM_WHITAKER, "Dr. Raman is back on Monday!"))
            .await
            .expect("post");
        let menu = fake
            .message_command(MessageCommandSpec::new(
                CH_ANNOUNCEMENTS,
                USER_MAYA_CHEN,
                "Check with Bedside",
                target.get(),
            ))
            .await
            .expect("menu");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, menu)), WAIT).await.expect("answer");
        assert!(answer.body.clone().expect("body").to_string().contains("Looks good"));

        let refused = fake.slash_command(SlashSpec::new(CH_GENERAL, USER_PATIENT_C, "tip")).await.expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, refused)), WAIT).await.expect("answer");
        let body = answer.body.clone().expect("body");
        assert_eq!(body["data"]["flags"], 64);
        assert!(body["data"]["content"].as_str().unwrap_or_default().contains("for staff"));

        let tip = fake.slash_command(SlashSpec::new(CH_HEALTH_TIPS, USER_SAM_WHITAKER, "tip")).await.expect("slash");
        fake.wait_for_request(posts_to(CH_HEALTH_TIPS), WAIT).await.expect("the tip is posted");
        fake.wait_for_request(|r| r.is("POST", &callback(&fake, tip)), WAIT).await.expect("answer");

        let status = fake
            .slash_command(
                SlashSpec::new(CH_GENERAL, USER_SAM_WHITAKER, "bedside")
                    .option(SlashOption::subcommand("status", vec![])),
            )
            .await
            .expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, status)), WAIT).await.expect("answer");
        let shown = answer.body.clone().expect("body").to_string();
        assert!(shown.contains("Bedside status"), "{shown}");
        assert!(shown.contains("Draft checks: 2"), "the /check and the menu's check are counted: {shown}");
        let denied = fake
            .slash_command(
                SlashSpec::new(CH_GENERAL, USER_PATIENT_A, "bedside").option(SlashOption::subcommand("status", vec![])),
            )
            .await
            .expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, denied)), WAIT).await.expect("answer");
        assert!(answer.body.clone().expect("body").to_string().contains("for staff"));
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_can_check_a_draft_by_dm() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let dm = fake.dm_channel(USER_PRIYA_RAMAN);
        fake.post_message(MessageSpec::new(
            dm,
            USER_PRIYA_RAMAN,
            "his cell is (971) 555-0164 if anyone needs to reach the patient",
        ))
        .await
        .expect("dm");
        let answer = fake.wait_for_request(posts_to(dm), WAIT).await.expect("an answer by DM");
        assert!(embed_text(&answer).contains("id.phone"));
        nothing_posted_to(&fake, CH_STAFF_ALERTS, posts_to(dm)).await;
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_and_the_alert_still_arrives() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        fake.script(
            "POST",
            &format!("/channels/{CH_STAFF_ALERTS}/messages"),
            vec![Scripted::rate_limited(0.25), Scripted::status(500)],
        );
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        let tries = fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 3, WAIT).await.expect("retried");
        let statuses: Vec<Option<u16>> = tries.iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![Some(429), Some(500), Some(200)]);
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_that_replays_a_message_does_not_act_twice() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        let before = fake.last_seq();
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("alert");
        fake.set_replay_on_resume(Some(before));
        fake.drop_gateway().await;
        fake.wait_resumed(1, WAIT).await.expect("resumed");
        // Something after the resume still gets handled…
        fake.post_message(MessageSpec::new(
            CH_GENERAL,
            USER_MAYA_CHEN,
            "Mrs. Alvarez, your crown fitting on 10/14 is confirmed",
        ))
        .await
        .expect("post");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 2, WAIT).await.expect("second alert");
        tokio::time::sleep(QUIET).await;
        // …but the replayed message was not flagged a second time.
        assert_eq!(fake.requests().iter().filter(|r| posts_to(CH_STAFF_ALERTS)(r)).count(), 2);
        assert_eq!(fake.identify_count(), 1, "resumed, not re-identified");
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_config_channels_and_roles() {
    within(async {
        let fake = FakeDiscord::start().await;
        let overrides = Overrides {
            watch: vec!["announcements".into()],
            staff_roles: vec!["Patient".into()],
            alert_channel: Some(CH_STAFF_FEEDBACK.to_string()),
            feedback_channel: None,
        };
        let bot = start(&fake, setup(), overrides).await;
        fake.post_message(MessageSpec::new(CH_ANNOUNCEMENTS, USER_PATIENT_A, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        fake.wait_for_request(posts_to(CH_STAFF_FEEDBACK), WAIT).await.expect("alert in the overriding channel");
        fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours"))
            .await
            .expect("post");
        // The positive control: a second problem in the watched channel, posted after, is flagged.
        fake.post_message(MessageSpec::new(CH_ANNOUNCEMENTS, USER_PATIENT_B, "stop the metformin for now"))
            .await
            .expect("post");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_FEEDBACK)(r), 2, WAIT).await.expect("the control's alert");
        tokio::time::sleep(QUIET).await;
        assert_eq!(
            fake.requests().iter().filter(|r| posts_to(CH_STAFF_FEEDBACK)(r)).count(),
            2,
            "ask-the-clinic is no longer watched"
        );
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

/// When Discord recommends two shards, the bot opens both: each server's events come on its own
/// connection, each server is set up once, and a dropped connection resumes without acting twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_shards_each_server_is_served_on_its_own_connection() {
    within(async {
        let fake = FakeDiscord::start().await;
        fake.set_recommended_shards(2);
        assert_ne!(fake.shard_of(Some(GUILD_ID)), fake.shard_of(Some(OTHER_GUILD_ID)), "the fixture's servers");
        // serenity starts shards 5 s apart; `start` waits for both.
        let bot = start(&fake, setup(), Overrides::default()).await;
        let mut identified = fake.identified_shards();
        identified.sort();
        assert_eq!(identified, vec![[0, 2], [1, 2]], "one IDENTIFY per shard");

        let praise = "The staff were so kind and the waiting room was lovely, thank you!";
        fake.post_message(MessageSpec::new(CH_FEEDBACK, USER_PATIENT_A, praise)).await.expect("post");
        fake.post_message(MessageSpec::new(OTHER_CH_GENERAL, USER_PATIENT_A, praise)).await.expect("post");
        fake.wait_for_request(posts_to(CH_FEEDBACK), WAIT).await.expect("a reply in the main server");
        fake.wait_for_request(posts_to(OTHER_CH_GENERAL), WAIT).await.expect("a reply in the other server");

        // Both connections drop; each shard resumes its own session, and what comes next is
        // handled once.
        fake.drop_gateway().await;
        fake.wait_resumed(2, WAIT).await.expect("both shards resumed");
        fake.post_message(MessageSpec::new(CH_FEEDBACK, USER_PATIENT_B, praise)).await.expect("post");
        fake.post_message(MessageSpec::new(OTHER_CH_GENERAL, USER_PATIENT_B, praise).roles(&[])).await.expect("post");
        fake.wait_for_requests(|r| posts_to(CH_FEEDBACK)(r), 2, WAIT).await.expect("second reply, main server");
        fake.wait_for_requests(|r| posts_to(OTHER_CH_GENERAL)(r), 2, WAIT).await.expect("second reply, other server");
        tokio::time::sleep(QUIET).await;

        let requests = fake.requests();
        for channel in [CH_FEEDBACK, OTHER_CH_GENERAL] {
            assert_eq!(requests.iter().filter(|r| posts_to(channel)(r)).count(), 2, "replies in {channel}");
        }
        for guild in [GUILD_ID, OTHER_GUILD_ID] {
            let commands = format!("/applications/{APPLICATION_ID}/guilds/{guild}/commands");
            assert_eq!(requests.iter().filter(|r| r.is("PUT", &commands)).count(), 1, "commands set once in {guild}");
        }
        assert_eq!(fake.identify_count(), 2, "resumed, not re-identified");
        assert!(fake.problems().is_empty(), "{:?}", fake.problems());
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_in_one_server_is_handled_once_and_another_server_is_still_answered() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        // Far more at once than a guild's lane and delivery places hold, so the burst's work moves
        // to the overflow runtime part way through.
        const BURST: usize = 60;
        let patients = [USER_PATIENT_A, USER_PATIENT_B, USER_PATIENT_C];
        let mut burst = Vec::new();
        for n in 0..BURST {
            let text = format!("The nurses were so kind and helpful today, thank you! #{n}");
            let spec = MessageSpec::new(CH_FEEDBACK, patients[n % patients.len()], text);
            burst.push(fake.post_message(spec).await.expect("post").get());
            if n == BURST / 2 {
                let praise = "The staff were so kind and the waiting room was lovely, thank you!";
                fake.post_message(MessageSpec::new(OTHER_CH_GENERAL, USER_PATIENT_A, praise)).await.expect("post");
            }
        }
        fake.wait_for_request(posts_to(OTHER_CH_GENERAL), WAIT).await.expect("the other server's reply");
        fake.wait_for_requests(|r| posts_to(CH_STAFF_FEEDBACK)(r), BURST, WAIT).await.expect("every share");
        tokio::time::sleep(QUIET).await;

        let requests = fake.requests();
        let shares: Vec<u64> =
            requests.iter().filter(|r| posts_to(CH_STAFF_FEEDBACK)(r)).filter_map(shared_message).collect();
        for id in &burst {
            assert_eq!(shares.iter().filter(|s| *s == id).count(), 1, "message {id} shared with staff once");
        }
        assert_eq!(shares.len(), BURST, "nothing else shared");
        // One acknowledgement per patient per cooldown (24 h in the embedded config).
        assert_eq!(requests.iter().filter(|r| posts_to(CH_FEEDBACK)(r)).count(), patients.len());
        assert_eq!(requests.iter().filter(|r| posts_to(OTHER_CH_GENERAL)(r)).count(), 1);
        assert!(fake.problems().is_empty(), "{:?}", fake.problems());
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

fn append(path: &std::path::Path, text: &str) {
    let mut old = std::fs::read_to_string(path).expect("read");
    old.push_str(text);
    std::fs::write(path, old).expect("write");
}

/// Waits until the bot has handled `message` (recorded it as handled, flagged or not).
async fn handled(store: &Store, message: u64) {
    let started = tokio::time::Instant::now();
    while !store.is_handled(message).expect("store") {
        assert!(started.elapsed() < WAIT, "message {message} was never handled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn flagged(fake: &FakeDiscord, store: &Store, text: &str) -> bool {
    let id = fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, text)).await.expect("post").get();
    handled(store, id).await;
    store.flag(id).expect("store").is_some()
}

/// A rule only the edited configuration has: staff recommending a made-up remedy.
const ADDED_RULE: &str = r#"
[[rule]]
id = "advice.zebrafrost"
kind = "directive"
severity = "high"
reason = "Recommends a remedy that does not exist (a rule added by a reload)"
score = 1.0
trigger = { terms = ["zebrafrost"] }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_swaps_in_a_valid_configuration_dropping_no_event_and_keeps_the_running_one_on_problems() {
    within(async {
        let work = tempfile::tempdir().expect("tempdir");
        let dir = copy_config(work.path());
        let dir = dir.as_path();
        let store = Arc::new(Store::open_in_memory().expect("store"));
        let services = Services::new(store.clone());
        let sighup = services.reload.clone();
        let fake = FakeDiscord::start().await;
        let setup = Setup::load(Some(dir)).expect("the copy of config/ is valid");
        let bot = start_with(&fake, setup, Overrides::default(), services).await;
        let remedy = "try zebrafrost for that";
        assert!(!flagged(&fake, &store, remedy).await, "the running configuration has no such rule");

        // A valid edit, reloaded the way SIGHUP does it, while staff messages keep arriving: from
        // some message on the new rule applies, and every message is handled.
        append(&dir.join("rules/advice.toml"), ADDED_RULE);
        let mut during = Vec::new();
        for i in 0..40 {
            if i == 10 {
                sighup.notify_one();
            }
            let text = "take 400mg ibuprofen every 6 hours for that tooth";
            let id =
                fake.post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, text)).await.expect("post");
            during.push(id.get());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let started = tokio::time::Instant::now();
        while !flagged(&fake, &store, remedy).await {
            assert!(started.elapsed() < WAIT, "the reloaded rule never applied");
        }
        for id in during {
            handled(&store, id).await;
            assert!(store.flag(id).expect("store").is_some(), "message {id}, posted during the reload, was flagged");
        }

        // An edit with problems: refused for a patient; for staff the running configuration stays
        // (the added rule still flags), and each problem is posted in the alert channel.
        let settings = dir.join("bedside.toml");
        let text = std::fs::read_to_string(&settings).expect("read");
        std::fs::write(&settings, text.replace("medical_advice = 0.7", "medical_advice = 7")).expect("write");
        append(&dir.join("rules/advice.toml"), &ADDED_RULE.replace("zebrafrost", "x").replace("directive", "dosage"));
        let callback = |fake: &FakeDiscord, id| format!("/interactions/{id}/{}/callback", fake.interaction_token(id));
        let reload =
            |user| SlashSpec::new(CH_GENERAL, user, "bedside").option(SlashOption::subcommand("reload", vec![]));
        let refused = fake.slash_command(reload(USER_PATIENT_A)).await.expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, refused)), WAIT).await.expect("answer");
        assert!(answer.body.clone().expect("body").to_string().contains("for staff"));

        let asked = fake.slash_command(reload(USER_SAM_WHITAKER)).await.expect("slash");
        let answer = fake.wait_for_request(|r| r.is("POST", &callback(&fake, asked)), WAIT).await.expect("answer");
        let answer = answer.body.clone().expect("body").to_string();
        assert!(answer.contains("2 problem(s)") && answer.contains("keeps running"), "{answer}");
        let told = fake
            .wait_for_request(
                |r| posts_to(CH_STAFF_ALERTS)(r) && embed_text(r).contains("Configuration not reloaded"),
                WAIT,
            )
            .await
            .expect("the problems, in the alert channel");
        let told = embed_text(&told);
        assert!(told.contains("bedside.toml: thresholds.medical_advice = 7"), "{told}");
        assert!(told.contains("unknown kind `dosage`"), "{told}");
        assert!(flagged(&fake, &store, remedy).await, "the running configuration, with the added rule, stays");
        assert!(
            flagged(&fake, &store, "take 400mg ibuprofen every 6 hours for that tooth").await,
            "and so does its threshold: 7 would flag nothing"
        );
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

/// Messages read back after downtime carry no member, so Bedside looks the author up. When that
/// lookup fails, the author is not taken for a patient: the post is checked as staff's would be,
/// flagged to the staff channel only (no DM: they may be a patient), and never acknowledged publicly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_whose_member_lookup_fails_is_flagged_to_staff_only_and_never_acknowledged() {
    within(async {
        let fake = FakeDiscord::start().await;
        let praise = "The nurses were so kind and the waiting room was lovely, thank you!";
        let seeded = fake
            .seed_history(
                CH_ASK_THE_CLINIC,
                vec![MessageSpec::new(CH_ASK_THE_CLINIC, USER_PRIYA_RAMAN, "take 400mg ibuprofen every 6 hours")],
            )
            .expect("seed");
        let feedback = fake
            .seed_history(
                CH_FEEDBACK,
                vec![
                    MessageSpec::new(CH_FEEDBACK, USER_PATIENT_A, praise),
                    MessageSpec::new(CH_FEEDBACK, USER_PATIENT_B, praise),
                ],
            )
            .expect("seed");
        for user in [USER_PRIYA_RAMAN, USER_PATIENT_A] {
            fake.script(
                "GET",
                &format!("/guilds/{GUILD_ID}/members/{user}"),
                vec![Scripted::discord_error(403, 50001, "Missing Access"); 4],
            );
        }
        let bot = start(&fake, setup(), Overrides::default()).await;

        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("flagged to staff");
        assert_eq!(shared_message(&alert), Some(seeded[0].get()));
        assert!(embed_text(&alert).contains("could not look up their roles"), "{}", embed_text(&alert));
        // The positive control: the patient whose lookup worked is acknowledged.
        let reply = fake.wait_for_request(posts_to(CH_FEEDBACK), WAIT).await.expect("the control's reply");
        let replied_to =
            reply.body.as_ref().and_then(|b| b["message_reference"]["message_id"].as_str().map(String::from));
        assert_eq!(replied_to, Some(feedback[1].get().to_string()), "the reply is the control's");
        tokio::time::sleep(QUIET).await;

        let requests = fake.requests();
        assert!(
            requests.iter().any(|r| r.is("GET", &format!("/guilds/{GUILD_ID}/members/{USER_PRIYA_RAMAN}"))),
            "the member was looked up"
        );
        assert!(!requests.iter().any(|r| r.is("POST", "/users/@me/channels")), "no DM to an unverified author");
        assert_eq!(requests.iter().filter(|r| posts_to(CH_FEEDBACK)(r)).count(), 1, "no public reply to the unknown");
        assert_eq!(requests.iter().filter(|r| posts_to(CH_STAFF_ALERTS)(r)).count(), 1);
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}

/// SIGHUP reaches `bedside run` the way it reaches any daemon: the real binary, in its own process,
/// reads its `--config` directory again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_makes_the_running_binary_read_its_configuration_again() {
    within(async {
        let work = tempfile::tempdir().expect("tempdir");
        let dir = copy_config(work.path());
        let fake = FakeDiscord::start().await;
        let bot = BotProcess::start(&fake, &dir, work.path(), 1).await;
        let store = Store::open(&work.path().join("bedside.db")).expect("the bot's store");
        assert!(!flagged(&fake, &store, "try zebrafrost for that").await, "not before the reload");

        append(&dir.join("rules/advice.toml"), ADDED_RULE);
        bot.hangup();
        let started = tokio::time::Instant::now();
        while !flagged(&fake, &store, "try zebrafrost for that").await {
            assert!(started.elapsed() < WAIT, "SIGHUP never applied the edited configuration");
        }
        let alert = fake
            .wait_for_request(|r| posts_to(CH_STAFF_ALERTS)(r) && embed_text(r).contains("advice.zebrafrost"), WAIT)
            .await
            .expect("the new rule's alert");
        assert!(embed_text(&alert).contains("a rule added by a reload"));
        bot.stop();
        fake.shutdown().await;
    })
    .await;
}

/// Waits until the bot's start-up catch-up has read `channel`'s history (its read was answered, so
/// what it read is fixed): a message posted after this reaches the bot by the gateway alone.
async fn caught_up(fake: &FakeDiscord, channel: u64) {
    let history = format!("/channels/{channel}/messages");
    fake.wait_for_request(|r| r.is("GET", &history), WAIT).await.expect("catch-up read the channel");
}

/// Roles change while Bedside runs: a role created with a staff name, and an existing role renamed
/// to one, count for the next message at once (serenity's cache follows every create, update and
/// delete; Bedside reads it).
///
/// The messages carry their author's roles as the gateway sends them; the fake's member record does
/// not have the new role. So each is posted once catch-up has read the channel: before that,
/// catch-up could read the message back over REST first (no member there), look the author's roles
/// up as the fake has them, find no staff role, and the gateway's copy would be a repeat, ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_role_granted_while_running_counts_at_once() {
    within(async {
        let fake = FakeDiscord::start().await;
        let bot = start(&fake, setup(), Overrides::default()).await;
        caught_up(&fake, CH_ASK_THE_CLINIC).await;
        const ROLE_NEW: u64 = 1_180_000_000_000_000_190;
        let created = RoleFixture {
            id: ROLE_NEW,
            name: "Clinician".into(),
            permissions: serenity::all::Permissions::empty(),
            position: 7,
            color: 0,
            hoist: false,
            managed_for_bot: None,
        };
        fake.dispatch(
            "GUILD_ROLE_CREATE",
            serde_json::json!({"guild_id": GUILD_ID.to_string(), "role": role_json(&created)}),
        )
        .await
        .expect("role created");
        let advice = "take 400mg ibuprofen every 6 hours";
        let first = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_C, advice).roles(&[ROLE_NEW]))
            .await
            .expect("post");
        let alert = fake.wait_for_request(posts_to(CH_STAFF_ALERTS), WAIT).await.expect("the new role is staff");
        assert_eq!(shared_message(&alert), Some(first.get()));

        let mut renamed = fake.fixture().guild(GUILD_ID).and_then(|g| g.role(ROLE_PATIENT)).cloned().expect("role");
        renamed.name = "Front Desk".into();
        fake.dispatch(
            "GUILD_ROLE_UPDATE",
            serde_json::json!({"guild_id": GUILD_ID.to_string(), "role": role_json(&renamed)}),
        )
        .await
        .expect("role renamed");
        let second = fake
            .post_message(MessageSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_A, advice).roles(&[ROLE_PATIENT]))
            .await
            .expect("post");
        let alerts = fake.wait_for_requests(|r| posts_to(CH_STAFF_ALERTS)(r), 2, WAIT).await.expect("renamed: staff");
        assert_eq!(shared_message(&alerts[1]), Some(second.get()));
        bot.stop().await;
        fake.shutdown().await;
    })
    .await;
}
