//! The command line as users and tools call it: exit codes, the `classify` batch contract, and
//! `scan` on the example export in every format.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bedside(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedside"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("BEDSIDE_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bedside runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("bedside finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn check_exits_0_when_clean_1_when_flagged_2_on_error() {
    let clean = bedside(&["check", "Flu shots are in! Call (503) 555-0100 to book."], "");
    assert_eq!(clean.status.code(), Some(0));
    assert!(stdout(&clean).contains("✓ clean"));

    let flagged = bedside(&["check", "take 400mg ibuprofen every 6 hours"], "");
    assert_eq!(flagged.status.code(), Some(1));
    let out = stdout(&flagged);
    assert!(
        out.contains("advice.dose") && out.contains("why:") && out.contains("«take 400mg ibuprofen every 6 hours»"),
        "{out}"
    );

    let from_stdin = bedside(&["check", "--role", "patient"], "The front desk was so kind today, thank you all!");
    assert_eq!(from_stdin.status.code(), Some(1));
    assert!(stdout(&from_stdin).contains("feedback (praise)"));

    let error = bedside(&["--config", "/nonexistent/bedside", "check", "hi"], "");
    assert_eq!(error.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&error.stderr).contains("is not a directory"));
}

#[test]
fn classify_keeps_the_batch_contract() {
    let input = [
        r#"{"id": "a", "role": "staff", "text": "Tomás says: take 400mg ibuprofen every 6 hours — ok?"}"#,
        r#"{"id": "b", "role": "staff", "text": "#,
        r#"{"id": "c", "role": "patient", "text": "Waited 90 minutes and the front desk never called. Unacceptable."}"#,
        "",
        r#"{"id": "d", "role": "staff", "text": "Questions? Call (503) 555-0100."}"#,
        r#"{"id": "e", "role": "doctor", "text": "x"}"#,
    ]
    .join("\n");
    let out = bedside(&["classify"], &input);
    assert_eq!(out.status.code(), Some(1), "unreadable lines make the exit status 1");
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 5, "one answer per non-empty input line, in order");

    let a = &lines[0];
    assert_eq!(a["id"], "a");
    assert_eq!(a["labels"], serde_json::json!(["medical_advice"]));
    assert_eq!(a["feedback_kind"], Value::Null);
    let text = "Tomás says: take 400mg ibuprofen every 6 hours — ok?";
    for f in a["findings"].as_array().expect("findings") {
        for key in ["label", "kind", "rule", "start", "end", "severity", "reason", "counted"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        let (s, e) = (f["start"].as_u64().expect("start") as usize, f["end"].as_u64().expect("end") as usize);
        assert!(text.is_char_boundary(s) && text.is_char_boundary(e), "byte offsets on char boundaries");
        if f["kind"] == "dose" {
            assert_eq!(&text[s..e], "take 400mg ibuprofen every 6 hours", "UTF-8 byte offsets into the text");
        }
    }

    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().expect("error text").contains("EOF"));

    assert_eq!(lines[2]["id"], "c");
    assert_eq!(lines[2]["labels"], serde_json::json!(["feedback"]));
    assert_eq!(lines[2]["feedback_kind"], "complaint");

    assert_eq!(lines[3]["id"], "d");
    assert_eq!(lines[3]["labels"], serde_json::json!([]));
    let phone = &lines[3]["findings"][0];
    assert_eq!((phone["kind"].as_str(), phone["counted"].as_bool()), (Some("phone"), Some(false)));
    assert!(phone["reason"].as_str().expect("reason").contains("practice"));

    assert_eq!(lines[4]["line"], 6, "a bad role is an error for that line");
}

#[test]
fn scan_reports_the_example_export() {
    let out = bedside(&["scan", "examples/export/"], "");
    assert_eq!(out.status.code(), Some(1), "1: something was flagged; {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "every input was read: {}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("Flagged staff messages: 14"), "{text}");
    assert!(text.contains("skipped 6 bot, 4 system, 1 empty, 0 malformed"), "{text}");
    assert!(text.contains("https://discord.com/channels/1100000000000000001/1100000000000000104/1100000000000040007"));
    assert!(!text.contains("555-0138"), "a patient's number never reaches the report");

    let md = stdout(&bedside(&["scan", "--format", "markdown", "examples/export/"], ""));
    assert!(md.starts_with("# Bedside audit") && md.contains("| label | messages |"));

    let json: Value = serde_json::from_str(&stdout(&bedside(&["scan", "--format", "json", "examples/export/"], "")))
        .expect("JSON report");
    // The 13 messages the export's author planted as problems, plus one reply that names a patient
    // while discussing her billing statement ("Fair criticism, Ann. ... any statement with you"):
    // confirming someone is a patient is itself a disclosure.
    let mut flagged: Vec<String> = json["flagged"]
        .as_array()
        .expect("flagged")
        .iter()
        .map(|f| f["link"].as_str().expect("link").rsplit('/').next().expect("id").to_string())
        .collect();
    flagged.sort();
    let expected = [
        "10007", "10012", "10015", "10020", "10025", "10034", "20022", "20028", "30018", "30034", "30042", "40007",
        "40015", "40024",
    ];
    assert_eq!(flagged, expected.map(|id| format!("11000000000000{id}")));
    assert_eq!(json["flagged_messages"], 14);
    assert_eq!(json["files"], 4);

    let jsonl = stdout(&bedside(&["scan", "--format", "jsonl", "examples/export/"], ""));
    let rows: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert!(rows.len() >= 13);
    for row in &rows {
        for key in ["message_id", "channel_id", "author_id", "labels", "findings"] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        assert!(!row["labels"].as_array().expect("labels").is_empty(), "only labeled messages are written");
    }
}

#[test]
fn staff_role_flag_adds_to_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = r#"{"guild":{"id":"1","name":"G"},"channel":{"id":"2","name":"c"},"messages":[
        {"id":"10","type":"Default","timestamp":"2026-01-01T00:00:00+00:00","content":"take 400mg ibuprofen every 6 hours","author":{"id":"5","name":"v","isBot":false,"roles":[{"id":"77","name":"Volunteer"}]}}]}"#;
    let path = dir.path().join("one.json");
    std::fs::write(&path, export).expect("write");
    let p = path.to_str().expect("path");
    assert!(stdout(&bedside(&["scan", p], "")).contains("Flagged staff messages: 0"));
    assert!(stdout(&bedside(&["scan", "--staff-role", "volunteer", p], "")).contains("Flagged staff messages: 1"));
    assert!(stdout(&bedside(&["scan", "--staff-role", "77", p], "")).contains("Flagged staff messages: 1"));
}

#[test]
fn scan_names_the_file_and_position_of_bad_input_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = r#"{"guild":{"id":"1"},"channel":{"id":"2","name":"c"},"messages":[
        {"id":"10","content":"take 400mg ibuprofen every 6 hours","author":{"id":"5","roles":[{"id":"9","name":"Staff"}]}},
        "not a message",
        {"id":"11","content":"hello"}]}"#;
    std::fs::write(dir.path().join("a.json"), good).expect("write");
    std::fs::write(dir.path().join("b.json"), "{\"messages\": [\n  {\"id\": \"1\",,}\n]}").expect("write");
    let out = bedside(&["scan", dir.path().to_str().expect("path")], "");
    assert_eq!(out.status.code(), Some(2), "an unreadable input outranks a finding");
    let text = stdout(&out);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Flagged staff messages: 1"), "the good message is still scanned: {text}");
    for report in [&*text, &*errors] {
        assert!(report.contains("a.json: message #2: not a message object"), "{report}");
        assert!(report.contains("a.json: message 11: no author"), "{report}");
        assert!(report.contains("b.json: ") && report.contains("line 2"), "{report}");
    }
    assert!(Path::new(dir.path()).exists());
}

#[test]
fn a_truncated_export_is_an_error_on_stderr_and_the_good_files_are_still_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = std::fs::read(
        "examples/export/Maple Grove Health Community - Community - ask-the-clinic [1100000000000000101].json",
    )
    .expect("example export");
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).expect("write");
    let missing = dir.path().join("missing.json");
    let args = |format: &'static str| {
        vec![
            "scan".to_string(),
            "--format".into(),
            format.into(),
            truncated.display().to_string(),
            missing.display().to_string(),
            "examples/export/Maple Grove Health Community - Community - general [1100000000000000104].json".into(),
        ]
    };
    let run = |format| {
        let args = args(format);
        bedside(&args.iter().map(String::as_str).collect::<Vec<_>>(), "")
    };

    let out = run("text");
    assert_eq!(out.status.code(), Some(2), "2, not 1: a script can tell a broken export from a finding");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains(&format!("bedside: {}: ", truncated.display())), "{errors}");
    assert!(errors.contains("EOF while parsing"), "says what is wrong: {errors}");
    assert!(errors.contains(&format!("bedside: {}: no such file or folder", missing.display())), "{errors}");
    let text = stdout(&out);
    assert!(text.contains("Input problems:") && text.contains("truncated.json"), "{text}");
    assert!(text.contains("#general"), "the good file is still reported: {text}");

    let json: Value = serde_json::from_slice(&run("json").stdout).expect("JSON report");
    let problems = json["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0]["file"], missing.display().to_string());
    assert_eq!(problems[1]["file"], truncated.display().to_string());
    assert!(problems[1]["problem"].as_str().expect("problem").contains("EOF while parsing"));
    assert!(json["channels"].as_object().expect("channels").values().any(|c| c["name"] == "general"));
}

#[test]
fn scan_lists_unanswered_feedback_in_the_same_order_every_run() {
    // Feedback posted in the same second: the order must come from the data, not from a hash map.
    let dir = tempfile::tempdir().expect("tempdir");
    let messages: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"id":"{}","timestamp":"2026-10-01T12:00:00+00:00","content":"The front desk team was so kind, thank you! {i}","author":{{"id":"{}","roles":[]}}}}"#,
                700 + (i * 7) % 12,
                50 + i
            )
        })
        .collect();
    let export = format!(
        r#"{{"guild":{{"id":"1"}},"channel":{{"id":"2","name":"feedback"}},"messages":[{}]}}"#,
        messages.join(",")
    );
    let path = dir.path().join("feedback.json");
    std::fs::write(&path, export).expect("write");
    let run = || stdout(&bedside(&["scan", "--format", "json", path.to_str().expect("path")], ""));
    let first = run();
    let links: Vec<&str> = first.lines().filter(|l| l.contains("\"link\"")).collect();
    assert_eq!(links.len(), 12, "every feedback message is listed: {first}");
    let mut sorted = links.clone();
    sorted.sort();
    assert_eq!(links, sorted, "same-second feedback is listed by message id");
    for _ in 0..3 {
        assert_eq!(run(), first);
    }
}

fn bedside_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bedside"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("BEDSIDE_CONFIG").env_remove("DISCORD_TOKEN");
    for (k, v) in env {
        command.env(k, v);
    }
    command.stdin(Stdio::null()).output().expect("bedside runs")
}

#[test]
fn run_refuses_a_corrupt_database_at_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bedside.db");
    std::fs::write(&db, "not a database").expect("write");
    let url = format!("sqlite://{}", db.display());
    let out = bedside_env(&["run"], &[("DISCORD_TOKEN", "not-a-real-token"), ("DATABASE_URL", &url)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Bedside database or is corrupt"), "{err}");

    let no_token = bedside_env(&["run"], &[("DATABASE_URL", &url)]);
    assert_eq!(no_token.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("DISCORD_TOKEN is not set"));
}

#[test]
fn run_refuses_zero_shards_before_connecting() {
    let out = bedside_env(&["run", "--shards", "0"], &[("DISCORD_TOKEN", "not-a-real-token")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--shards") && err.contains("0"), "{err}");
}

#[test]
fn report_reads_the_store_in_every_format() {
    use bedside::detect::{Label, Severity};
    use bedside::policy::{Flag, Point};
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bedside.db");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
    {
        let store = bedside::store::Store::open(&db).expect("store");
        let flag = Flag {
            message: 1,
            channel: 7,
            guild: Some(1),
            author: 9,
            link: String::new(),
            labels: vec![Label::MedicalAdvice],
            points: vec![Point {
                label: Label::MedicalAdvice,
                rule: "advice.dose".into(),
                reason: "r".into(),
                severity: Severity::High,
                fix: None,
            }],
            severity: Severity::High,
            excerpt: "take [number]".into(),
            remove: false,
            unverified: false,
        };
        store.record_flag(&flag, &[], now - 3600).expect("flag");
        store.note_post(Some(1), 7, 1, true, now - 3600).expect("post");
    }
    let url = format!("sqlite://{}", db.display());
    let md = bedside_env(&["report", "--since", "7d"], &[("DATABASE_URL", &url)]);
    assert_eq!(md.status.code(), Some(0), "{}", String::from_utf8_lossy(&md.stderr));
    let md = String::from_utf8_lossy(&md.stdout).to_string();
    assert!(md.contains("# Bedside report") && md.contains("| `advice.dose` | 1 | 0 | 0% |"), "{md}");
    let html = String::from_utf8_lossy(&bedside_env(&["report", "--format", "html"], &[("DATABASE_URL", &url)]).stdout)
        .to_string();
    assert!(html.starts_with("<!doctype html>") && html.contains("<svg"));
    let json: Value =
        serde_json::from_slice(&bedside_env(&["report", "--format", "json"], &[("DATABASE_URL", &url)]).stdout)
            .expect("json");
    assert_eq!(json["flags"], 1);

    let bad = bedside_env(&["report", "--since", "soon"], &[("DATABASE_URL", &url)]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = bedside_env(&["report"], &[("DATABASE_URL", "sqlite:///nonexistent/bedside.db")]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no database yet"));
}
