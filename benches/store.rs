//! The store's share of handling one message in the live bot: every call `bot.rs` and the outbox
//! make for a patient's feedback that gets a public reply and a staff share — is it handled, note
//! the post, the cooldown's ledger, record the decision with its two actions, read them back for
//! delivery, mark each sent — on a SQLite file, as in production. The store serialises its
//! calls, so this time bounds how many messages a second one bot can record, and how long another
//! guild's message may wait for the store during a burst.
//!
//! `cargo bench --bench store` — criterion prints time per message.

use std::sync::atomic::{AtomicU64, Ordering};

use bedside::detect::FeedbackKind;
use bedside::policy::Feedback;
use bedside::store::{NewAction, Store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const NOW: u64 = 1_790_000_000;
const GUILD: u64 = 1;
const CHANNEL: u64 = 7;

/// A reply and a staff share of the sizes the bot writes (the share is an embed, as JSON).
fn actions(message: u64) -> [NewAction; 2] {
    let reply = format!(
        r#"{{"act":"reply","channel":{CHANNEL},"message":{message},"text":"Thank you so much for taking the time to share this — it means a lot to our whole team, and we've passed it along."}}"#
    );
    let share = format!(
        r#"{{"act":"share","channel":99,"notice":{{"title":"Patient feedback: praise","description":"A patient shared praise in <#{CHANNEL}>. Bedside replied publicly with a template that discloses nothing.","fields":[["Excerpt","The hygienist was so gentle with my son today, thank you all! He actually wants to come back"],["Message","https://discord.com/channels/{GUILD}/{CHANNEL}/{message}"]],"colour":3066993,"content":null}}}}"#
    );
    [NewAction { kind: "reply".into(), payload: reply }, NewAction { kind: "share".into(), payload: share }]
}

fn feedback(message: u64) -> Feedback {
    Feedback {
        message,
        channel: CHANNEL,
        guild: Some(GUILD),
        // Authors in turn, as in a busy channel: the ledger's index is searched, not one row.
        author: 1000 + message % 50,
        link: String::new(),
        kind: FeedbackKind::Praise,
        excerpt: "The hygienist was so gentle with my son today, thank you all!".into(),
        reply: Some("Thank you so much for taking the time to share this.".into()),
        why_no_reply: None,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("bedside.db")).expect("store");
    let next = AtomicU64::new(1);
    let read_to = AtomicU64::new(0);
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one feedback message, recorded and delivered", |b| {
        b.iter(|| {
            let message = next.fetch_add(1, Ordering::Relaxed);
            let f = feedback(message);
            assert!(!store.is_handled(message).expect("read"));
            store.note_post(Some(GUILD), CHANNEL, message, false, NOW).expect("note");
            std::hint::black_box(bedside::policy::AckLedger::last_acknowledged(&store, f.author, CHANNEL));
            store.record_feedback(&f, &actions(message), 0, NOW).expect("record");
            let pending = store.pending_after(Some(GUILD), read_to.load(Ordering::Relaxed) as i64, 16).expect("read");
            for p in &pending {
                store.mark_sent(p.id, NOW).expect("sent");
            }
            if let Some(last) = pending.last() {
                read_to.store(last.id as u64, Ordering::Relaxed);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
