//! Property tests: whatever the text (Discord markup, look-alikes, arbitrary Unicode or bytes),
//! analysis never panics, every span lies on char boundaries inside the text, labels agree with
//! counted findings and the author's role, and excerpts never leak long digit runs.

use std::sync::OnceLock;

use bedside::detect::{Label, Message, Role, excerpt};
use bedside::export::{Item, read_export};
use bedside::setup::Setup;
use proptest::prelude::*;

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup::load(None).expect("embedded configuration"))
}

/// Text that looks like Discord chat: words, numbers, markup, mentions, emoji, look-alikes.
fn discord_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z]{1,9}",
        " ",
        "[0-9]{1,12}",
        "[0-9]{3}-[0-9]{3}-[0-9]{4}",
        Just("<@123456789012345678>".to_string()),
        Just("<@!42>".to_string()),
        Just("<@&7>".to_string()),
        Just("<#9>".to_string()),
        Just("<:tooth:1100000000000099001>".to_string()),
        Just("<t:1700000000:R>".to_string()),
        Just("<".to_string()),
        Just("||".to_string()),
        Just("**".to_string()),
        Just("__".to_string()),
        Just("```".to_string()),
        Just("５０３－５５５－０１３８".to_string()),
        Just("ѕtор".to_string()),
        Just("\u{200B}".to_string()),
        Just("é".to_string()),
        Just("😊".to_string()),
        Just("👩‍⚕️".to_string()),
        Just("take 400mg ibuprofen".to_string()),
        Just("Mrs. Alvarez".to_string()),
        Just("your biopsy".to_string()),
        Just("'s".to_string()),
        Just("\n".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn check_analysis(text: &str, role: Role, reply: bool, mentions: usize) -> Result<(), TestCaseError> {
    let analysis = setup().detector.analyze(&Message::new(text, role).reply(reply).mentions(mentions));
    for f in &analysis.findings {
        prop_assert!(f.start <= f.end && f.end <= text.len(), "span {}..{} outside {}", f.start, f.end, text.len());
        prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end), "span not on char boundaries");
        prop_assert!(f.label().applies_to(role), "{} found on a {:?} message", f.label(), role);
        prop_assert!(!f.reason().is_empty());
    }
    for w in analysis.findings.windows(2) {
        prop_assert!(w[0].start <= w[1].start, "findings out of order");
    }
    let mut counted: Vec<Label> = analysis.counted().map(|f| f.label()).collect();
    counted.sort();
    counted.dedup();
    prop_assert_eq!(&counted, &analysis.labels);
    prop_assert_eq!(analysis.feedback_kind.is_some(), analysis.has(Label::Feedback));
    let e = excerpt(text, &analysis.findings);
    let longest_digits = e.split(|c: char| !c.is_numeric()).map(|run| run.chars().count()).max().unwrap_or(0);
    prop_assert!(longest_digits < 5, "excerpt keeps a long number: {e}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn discord_like_text_never_panics_and_spans_are_valid(text in discord_text(), staff: bool, reply: bool, mentions in 0usize..3) {
        check_analysis(&text, if staff { Role::Staff } else { Role::Patient }, reply, mentions)?;
    }

    #[test]
    fn arbitrary_unicode_never_panics(text in any::<String>(), staff: bool) {
        check_analysis(&text, if staff { Role::Staff } else { Role::Patient }, false, 0)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        check_analysis(&text, Role::Staff, false, 0)?;
        check_analysis(&text, Role::Patient, true, 1)?;
    }

    #[test]
    fn classify_answers_every_line_whatever_the_bytes(lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..60), 1..6)) {
        let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
        let mut out = Vec::new();
        let bad = bedside::cli::classify_stream(&setup().detector, &input[..], &mut out).expect("io on memory");
        let answered = String::from_utf8(out).expect("output is UTF-8");
        let expected = lines.iter().filter(|l| !l.trim_ascii().is_empty()).count();
        prop_assert_eq!(answered.lines().count(), expected);
        prop_assert!(bad as usize <= expected);
    }

    #[test]
    fn export_reader_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = read_export(&bytes[..], |item| { if let Item::Message { message, .. } = item { let _ = message.check(); } });
    }

    #[test]
    fn export_reader_never_panics_on_mangled_exports(cut in 0usize..400, junk in "[\\[\\]{}\",:a-z0-9 ]{0,8}") {
        let export = r#"{"guild":{"id":"1","name":"G"},"channel":{"id":"2","name":"c"},"messages":[{"id":"10","type":"Default","content":"take 400mg","author":{"id":"5","name":"a","roles":[{"id":"9","name":"Staff"}]}},{"id":"11","content":null,"author":null}],"messageCount":2}"#;
        let cut = cut.min(export.len());
        let mangled = format!("{}{}{}", &export[..cut], junk, &export[cut..]);
        let _ = read_export(mangled.as_bytes(), |_| {});
    }
}
