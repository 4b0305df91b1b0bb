//! A [`Notice`] as Discord shows it: an embed, and the message that carries it.

use serenity::all::{CreateEmbed, CreateMessage};

use crate::notice::Notice;

/// An embed from a notice.
pub fn embed(n: &Notice) -> CreateEmbed {
    let mut e = CreateEmbed::new().title(&n.title).description(&n.description).colour(n.colour);
    for (name, value) in &n.fields {
        e = e.field(name, value, false);
    }
    e
}

/// A message carrying a notice: its embed, and its plain content (a mention) if it has one.
pub fn message_for(n: &Notice) -> CreateMessage {
    let m = CreateMessage::new().embed(embed(n));
    match &n.content {
        Some(content) => m.content(content),
        None => m,
    }
}
