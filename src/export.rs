//! Reads DiscordChatExporter JSON exports (Tyrrrz/DiscordChatExporter), one message at a time.
//!
//! An export is one JSON object: `guild`, `channel`, then a `messages` array that can hold
//! millions of entries. [`read_export`] streams that array through serde, handing each message to
//! a callback and keeping nothing, so memory stays flat whatever the file size. A message whose
//! shape is wrong (no author, say) is reported with its position and the rest go on; broken JSON
//! stops that file with the line and column serde found it at.

use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The guild and channel an export is of.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Place {
    pub id: String,
    pub name: String,
}

/// Header fields, known once the exporter has written them (before `messages`).
#[derive(Clone, Debug, Default)]
pub struct Header {
    pub guild: Place,
    pub channel: Place,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Role {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Author {
    pub id: String,
    pub name: String,
    pub nickname: Option<String>,
    pub is_bot: bool,
    pub roles: Vec<Role>,
}

impl Author {
    pub fn display_name(&self) -> &str {
        self.nickname.as_deref().filter(|n| !n.is_empty()).unwrap_or(&self.name)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Mention {
    pub id: String,
    pub name: String,
    pub nickname: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Reference {
    pub message_id: Option<String>,
    pub channel_id: Option<String>,
}

/// One exported message, read leniently: missing fields default, and [`ExportMessage::check`]
/// says what a usable message lacks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExportMessage {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    pub content: String,
    pub author: Option<Author>,
    pub reference: Option<Reference>,
    pub mentions: Vec<Mention>,
}

impl ExportMessage {
    /// A normal post or a reply (not a join, a pin or another system message).
    pub fn is_user_post(&self) -> bool {
        matches!(self.kind.as_str(), "" | "Default" | "Reply")
    }

    pub fn is_reply(&self) -> bool {
        self.reference.as_ref().is_some_and(|r| r.message_id.is_some()) && self.kind != "ChannelPinnedMessage"
    }

    /// Users mentioned in the text as `@Name` (a reply also lists the replied-to author, who is
    /// not mentioned in the text: that is what `is_reply` is for).
    pub fn mentions_in_text(&self) -> usize {
        self.mentions
            .iter()
            .filter(|m| {
                [Some(m.name.as_str()), m.nickname.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|n| !n.is_empty() && self.content.contains(&format!("@{n}")))
            })
            .count()
    }

    /// What makes this entry unusable, if anything.
    pub fn check(&self) -> Result<&Author, &'static str> {
        if self.id.is_empty() {
            return Err("no message id");
        }
        match &self.author {
            None => Err("no author"),
            Some(a) if a.id.is_empty() => Err("no author id"),
            Some(a) => Ok(a),
        }
    }
}

/// One message of an export, or why it could not be used.
pub enum Item<'a> {
    Message { header: &'a Header, index: usize, message: Box<ExportMessage> },
    Malformed { index: usize, problem: String },
}

/// A file that is not a readable export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("not a DiscordChatExporter JSON export: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a DiscordChatExporter JSON export: no `messages` array")]
    NoMessages,
}

/// Streams an export, calling `each` for every entry of `messages`. Returns the header and how
/// many entries were read.
pub fn read_export<R: Read>(reader: R, mut each: impl FnMut(Item<'_>)) -> Result<(Header, usize), ExportError> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let mut state = State { header: Header::default(), count: 0, saw_messages: false, each: &mut each };
    (&mut state).deserialize(&mut deserializer)?;
    deserializer.end()?;
    if !state.saw_messages {
        return Err(ExportError::NoMessages);
    }
    Ok((state.header, state.count))
}

struct State<'f, F: FnMut(Item<'_>)> {
    header: Header,
    count: usize,
    saw_messages: bool,
    each: &'f mut F,
}

impl<'de, F: FnMut(Item<'_>)> DeserializeSeed<'de> for &mut State<'_, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Item<'_>)> Visitor<'de> for &mut State<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an export object with `guild`, `channel` and `messages`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "guild" => self.header.guild = map.next_value::<Option<Place>>()?.unwrap_or_default(),
                "channel" => self.header.channel = map.next_value::<Option<Place>>()?.unwrap_or_default(),
                "messages" => {
                    self.saw_messages = true;
                    map.next_value_seed(Messages { state: &mut *self })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Messages<'s, 'f, F: FnMut(Item<'_>)> {
    state: &'s mut State<'f, F>,
}

impl<'de, F: FnMut(Item<'_>)> DeserializeSeed<'de> for Messages<'_, '_, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Item<'_>)> Visitor<'de> for Messages<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Each entry is first read as a lenient message; an entry of the wrong JSON type (a
        // string, say) is read as anything and reported, so one bad entry loses nothing else.
        while let Some(entry) = seq.next_element::<Lenient>()? {
            let index = self.state.count;
            self.state.count += 1;
            let item = match entry {
                Lenient::Message(message) => Item::Message { header: &self.state.header, index, message },
                Lenient::Other(_) => Item::Malformed { index, problem: "not a message object".to_string() },
            };
            (self.state.each)(item);
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient {
    Message(Box<ExportMessage>),
    Other(IgnoredAny),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> (Result<(Header, usize), ExportError>, Vec<String>) {
        let mut seen = Vec::new();
        let result = read_export(json.as_bytes(), |item| match item {
            Item::Message { header, index, message } => {
                seen.push(format!("{index}:{}:{}:{}", header.channel.name, message.id, message.content))
            }
            Item::Malformed { index, problem } => seen.push(format!("{index}:bad:{problem}")),
        });
        (result, seen)
    }

    #[test]
    fn streams_messages_with_their_header() {
        let json = r#"{"guild":{"id":"1","name":"G"},"channel":{"id":"2","name":"general"},"exportedAt":"x",
            "messages":[{"id":"10","type":"Default","content":"hi","author":{"id":"5","name":"a","isBot":false,"roles":[]}},
                        {"id":"11","type":"Reply","content":"yo","author":{"id":"6","name":"b"},"reference":{"messageId":"10"}}],
            "messageCount":2}"#;
        let (result, seen) = read(json);
        let (header, count) = result.expect("valid export");
        assert_eq!((header.guild.id.as_str(), count), ("1", 2));
        assert_eq!(seen, ["0:general:10:hi", "1:general:11:yo"]);
    }

    #[test]
    fn a_wrong_entry_is_reported_and_the_rest_go_on() {
        let json =
            r#"{"channel":{"id":"2","name":"c"},"messages":["oops", {"id":"12","content":"ok","author":{"id":"7"}}]}"#;
        let (result, seen) = read(json);
        assert!(result.is_ok());
        assert_eq!(seen, ["0:bad:not a message object", "1:c:12:ok"]);
    }

    #[test]
    fn broken_json_names_the_position() {
        let (result, _) = read("{\"messages\": [\n{\"id\": \"1\",, }]}");
        let error = result.expect_err("broken").to_string();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn not_an_export() {
        assert!(matches!(read("[1,2,3]").0, Err(ExportError::Json(_))));
        assert!(matches!(read("{\"guild\":{}}").0, Err(ExportError::NoMessages)));
        assert!(read("").0.is_err());
    }

    #[test]
    fn mentions_in_text_ignore_the_reply_ping() {
        let m = ExportMessage {
            content: "@Kayla see you".into(),
            mentions: vec![
                Mention { id: "1".into(), name: "kayla_b".into(), nickname: Some("Kayla".into()) },
                Mention { id: "2".into(), name: "ben".into(), nickname: None },
            ],
            ..Default::default()
        };
        assert_eq!(m.mentions_in_text(), 1);
    }
}
