//! Writes a large DiscordChatExporter export of invented messages, for measuring `bedside scan`.
//!
//! `cargo run --release --example gen_export -- 1000000 /tmp/bedside-1m.json`
//!
//! The messages mix staff and patient posts, typical chat, emoji and accents, and some that Bedside
//! flags, at roughly the proportions of a real community server. Nothing here is real data.

use std::io::{BufWriter, Write};

const STAFF: &[&str] = &[
    "Flu shots are in! Walk-ins welcome Saturday 9–1, or call (503) 555-0100 to book.",
    "Reminder: stay hydrated in this heat ☀️ and keep sunscreen handy — SPF 30 or higher.",
    "We'd want to take a look at that — please call the front desk and we'll find you a slot.",
    "Dr. Raman is back from leave on Monday. Café Tomás is open in the lobby again 😊",
    "take 400mg ibuprofen every 6 hours for that tooth",
    "Mrs. Alvarez, your crown fitting on 10/14 is confirmed",
    "Our pharmacy now stocks sugar-free children's ibuprofen and fluoride-free toothpaste.",
    "Great question! Flossing once a day is plenty for most people. 🦷",
];
const PATIENT: &[&str] = &[
    "does anyone know if the clinic is open on the holiday?",
    "thanks!",
    "Waited 50 minutes past my appointment time again, the front desk never called 😤",
    "The hygienist was so gentle with my son today, thank you all! ❤️",
    "could you add evening appointments for people who work 9-5?",
    "is it normal for a new filling to feel sensitive for a week?",
    "lol my cat just knocked my coffee over ☕",
    "Ça va? Just checking in, the new portal looks nice",
];

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let path = args.next().unwrap_or_else(|| "bedside-export.json".to_string());
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    write!(
        out,
        r#"{{"guild":{{"id":"1100000000000000001","name":"Generated Practice"}},"channel":{{"id":"1100000000000000101","type":"GuildTextChat","name":"ask-the-clinic"}},"dateRange":{{"after":null,"before":null}},"exportedAt":"2026-11-25T00:00:00+00:00","messages":["#
    )?;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..count {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let staff = seed % 5 < 2;
        let list = if staff { STAFF } else { PATIENT };
        let content = list[(seed >> 8) as usize % list.len()];
        let author = if staff { 500 + seed % 8 } else { 700 + seed % 400 };
        let roles = if staff {
            r##"[{"id":"1100000000000000200","name":"Staff","color":"#3BA55C","position":4}]"##
        } else {
            "[]"
        };
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(
            out,
            r#"{{"id":"{}","type":"Default","timestamp":"2026-10-01T12:00:00.000+00:00","timestampEdited":null,"isPinned":false,"content":{},"author":{{"id":"1100000000000{author:06}","name":"user{author}","discriminator":"0000","nickname":null,"isBot":false,"roles":{roles}}},"attachments":[],"embeds":[],"reactions":[],"mentions":[]}}"#,
            1_200_000_000_000_000_000u64 + i,
            serde_json::to_string(content).unwrap_or_default(),
        )?;
    }
    write!(out, r#"],"messageCount":{count}}}"#)?;
    out.flush()?;
    eprintln!("wrote {count} messages to {path}");
    Ok(())
}
