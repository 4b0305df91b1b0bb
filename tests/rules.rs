//! One test per rule family: what each rule must flag, and the hard negatives it must leave
//! alone. Texts are invented for these tests (not taken from the corpus), so they check the rules'
//! intent rather than the tuning.

use std::sync::OnceLock;

use bedside::detect::{Analysis, Kind, Label, Message, NotCounted, Role};
use bedside::setup::Setup;

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup::load(None).expect("embedded configuration"))
}

fn analyze(text: &str, role: Role) -> Analysis {
    setup().detector.analyze(&Message::new(text, role))
}

fn counted_rules(a: &Analysis) -> Vec<String> {
    a.counted().map(|f| f.rule.to_string()).collect()
}

/// Each text must get `label` from a rule whose id starts with `rule_prefix`.
fn flags(role: Role, label: Label, rule_prefix: &str, texts: &[&str]) {
    for text in texts {
        let a = analyze(text, role);
        assert!(
            a.counted().any(|f| f.label() == label && f.rule.starts_with(rule_prefix)),
            "expected {label} from {rule_prefix}* on {text:?}; got {:?}",
            counted_rules(&a)
        );
    }
}

/// Each text must not get `label`.
fn leaves_alone(role: Role, label: Label, texts: &[&str]) {
    for text in texts {
        let a = analyze(text, role);
        assert!(!a.has(label), "{text:?} should not be {label}; flagged by {:?}", counted_rules(&a));
    }
}

#[test]
fn dose_advice() {
    flags(
        Role::Staff,
        Label::MedicalAdvice,
        "advice.",
        &[
            "give him 7.5 ml of the kids' ibuprofen every 6 hours",
            "Take two of the 500s with food tonight",
            "you can do 10 mg of cetirizine daily for that",
        ],
    );
    leaves_alone(
        Role::Staff,
        Label::MedicalAdvice,
        &[
            "The pharmacy now stocks vitamin D3 2000 IU gummies, $8.99",
            "Adults should never exceed the maximum daily dose printed on the label.",
            "Reminder: children's acetaminophen comes in 160 mg per 5 mL, check the label before dosing",
        ],
    );
}

#[test]
fn diagnoses() {
    flags(
        Role::Staff,
        Label::MedicalAdvice,
        "advice.diagnosis",
        &[
            "that sounds like a classic UTI",
            "honestly that's shingles",
            "strep throat, 100%",
            "you probably sprained your ankle",
        ],
    );
    leaves_alone(
        Role::Staff,
        Label::MedicalAdvice,
        &[
            "October is eczema awareness month — ask us about gentle skin care",
            "Sounds like fun! See everyone at the fun run",
            "Looks like flu season is starting early this year, book your flu shot",
            "Hard to say without seeing it — could be a few things. Call us to book a look.",
        ],
    );
}

#[test]
fn treatment_changes() {
    flags(
        Role::Staff,
        Label::MedicalAdvice,
        "advice.",
        &[
            "stop taking the lisinopril until we talk",
            "Switch to the 20 mg tablets starting tomorrow",
            "just double up on your inhaler when it's bad",
        ],
    );
    leaves_alone(
        Role::Staff,
        Label::MedicalAdvice,
        &[
            "Don't stop antibiotics early without talking to your clinician first.",
            "Stop by the pharmacy counter for your free flu shot!",
            "We're switching to a new patient portal next month.",
            "Start your day with a glass of water 💧",
        ],
    );
}

#[test]
fn telling_someone_not_to_come_in() {
    flags(
        Role::Staff,
        Label::MedicalAdvice,
        "advice.",
        &["no need to come in for that, just ice it", "you don't need antibiotics for this one"],
    );
    leaves_alone(
        Role::Staff,
        Label::MedicalAdvice,
        &[
            "No need to book for flu shots — walk-ins welcome Saturday!",
            "If it gets worse or you're unsure, please call us — we're happy to take a look.",
        ],
    );
}

#[test]
fn names_and_contact_details() {
    flags(
        Role::Staff,
        Label::PatientDetails,
        "name.",
        &[
            "Mr. Delgado's crown is ready for pickup",
            "tell Priyanka her x-rays look great",
            "the Whitfield kids are due for boosters",
        ],
    );
    flags(
        Role::Staff,
        Label::PatientDetails,
        "id.phone",
        &["his cell is (971) 555-0164 if anyone needs to reach the patient"],
    );
    flags(Role::Staff, Label::PatientDetails, "id.email", &["send her forms to dana.w@mail.example, she asked"]);
    leaves_alone(
        Role::Staff,
        Label::PatientDetails,
        &[
            "Dr. Raman is back from leave on Monday!",
            "Call us at (503) 555-0100 or email hello@maplegrove.example to book",
            "Poison control is 1-800-222-1222, save it in your phone",
            "Welcome to the server, everyone! Introduce yourselves 👋",
            "Our new location at 44 Birch Avenue opens in March",
        ],
    );
}

#[test]
fn numbers_with_their_own_labels() {
    flags(Role::Staff, Label::PatientDetails, "id.ssn", &["SSN for the disability paperwork: 219-09-9998"]);
    flags(Role::Staff, Label::PatientDetails, "id.mrn", &["MRN 00482913 needs a chart update"]);
    flags(Role::Staff, Label::PatientDetails, "id.health-plan", &["member ID for the Tran intake is XJH-4471920"]);
    flags(Role::Staff, Label::PatientDetails, "id.card", &["card on file 4111 1111 1111 1111 was declined"]);
    flags(Role::Staff, Label::PatientDetails, "date.birth", &["DOB 04/12/1987, can someone verify?"]);
    flags(
        Role::Staff,
        Label::PatientDetails,
        "age.over-89",
        &["our 94-year-old patient on the 2nd floor needs a wheelchair"],
    );
    leaves_alone(
        Role::Staff,
        Label::PatientDetails,
        &[
            "Order #123-45-6789 from the supplier arrived",
            "We're closed Dec 24–26 and Jan 1. Happy holidays!",
            "Adults over 90 can get the high-dose flu vaccine here",
            "Your appointment reminders now come by text, starting March 3",
        ],
    );
}

#[test]
fn patient_stories_and_results() {
    flags(
        Role::Staff,
        Label::PatientDetails,
        "context.",
        &[
            "had a little girl this morning who swallowed a magnet",
            "<@123456789012345678> your biopsy came back benign",
            "<@123456789012345678> take 2 of the 200s for the pain",
        ],
    );
    leaves_alone(
        Role::Staff,
        Label::PatientDetails,
        &[
            "Lots of flu cases this week — wash your hands and get your shot!",
            "Lab results are posted to the portal within 3 business days.",
            "<@123456789012345678> thanks for the kind words! 😊",
        ],
    );
}

#[test]
fn feedback_kinds() {
    let kind = |text: &str| analyze(text, Role::Patient).feedback_kind;
    use bedside::detect::FeedbackKind::*;
    assert_eq!(kind("The front desk team was so kind to my grandma today, thank you!"), Some(Praise));
    assert_eq!(kind("Waited over an hour past my appointment time and nobody told us why"), Some(Complaint));
    assert_eq!(kind("It would be great if you offered Saturday hygiene appointments"), Some(Suggestion));
    assert_eq!(kind("It would be great if we could book appointments online"), Some(Suggestion));
    assert_eq!(kind("Could you please add evening slots? Mornings are impossible with work"), Some(Suggestion));
    leaves_alone(
        Role::Patient,
        Label::Feedback,
        &[
            // Requests and symptoms in the words of feedback (the shapes real patients' questions
            // took in MeQSum and SGD's training splits).
            "Can you get me an appointment with the hygienist next Tuesday morning?",
            "please make it for the 12th at 3:30 in the afternoon",
            "I've had terrible migraines all week and the tablets barely touch them",
            "I can't even lift my arm above my shoulder this morning",
            "please suggest me a good exercise for my lower back, thank you",
            "Do you take Blue Cross?",
            "is it normal for a filling to be sensitive for a week?",
            "thanks!",
            "ok thanks Jenna",
            "my old dentist was terrible, glad I'm here now?",
            "the weather is awful today lol",
        ],
    );
}

#[test]
fn roles_gate_labels() {
    let staff = analyze("The front desk was amazing today, thank you!", Role::Staff);
    assert!(!staff.has(Label::Feedback), "staff messages are never feedback");
    let patient = analyze("take 400mg ibuprofen every 6 hours", Role::Patient);
    assert!(!patient.has(Label::MedicalAdvice), "patient messages are only checked for feedback");
}

#[test]
fn practice_contacts_are_reported_but_not_counted() {
    let a = analyze("Questions? Fax (503) 555-0101 or call 503.555.0100", Role::Staff);
    assert!(a.is_clean());
    let phones: Vec<_> = a.findings.iter().filter(|f| matches!(f.kind, Kind::Phone | Kind::Fax)).collect();
    assert_eq!(phones.len(), 2, "{:?}", a.findings);
    assert!(phones.iter().all(|f| matches!(f.not_counted, Some(NotCounted::PracticeContact(_)))));
    assert!(phones.iter().all(|f| f.reason().contains("not counted")));
}

#[test]
fn discord_markup_hides_nothing() {
    for text in [
        "||take 400mg ibuprofen every 6 hours||",
        "**take** __400mg__ ibuprofen every 6 hours",
        "```\ntake 400mg ibuprofen every 6 hours\n```",
        "tаke 400mg ibuprofen every 6 hоurs",
        "take ４００mg ibuprofen every ６ hours",
    ] {
        assert!(analyze(text, Role::Staff).has(Label::MedicalAdvice), "{text:?}");
    }
    let a = analyze("his cell is ９７１-５５５-０１６４, for the patient", Role::Staff);
    let phone = a.findings.iter().find(|f| f.kind == Kind::Phone).expect("full-width phone found");
    assert_eq!(
        &"his cell is ９７１-５５５-０１６４, for the patient"[phone.start..phone.end],
        "９７１-５５５-０１６４"
    );
}

#[test]
fn findings_explain_themselves() {
    let a = analyze("tell Priyanka her A1c came back at 8.1", Role::Staff);
    let f = a.counted().next().expect("a counted finding");
    assert!(!f.rule.is_empty());
    assert!(f.reason().len() > 20, "{}", f.reason());
    assert!(!f.reason().contains("Priyanka"), "reasons never quote the message");
    assert!(setup().detector.fix_for(&f.rule).is_some(), "rule {} has no fix text", f.rule);
}
