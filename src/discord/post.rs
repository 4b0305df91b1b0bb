//! What Bedside keeps of a Discord message while it waits to be handled.
//!
//! serenity's `Message` carries everything Discord sends (the author's profile, the member, embeds,
//! attachments, the message replied to…), several KB once parsed. A burst queues every message
//! until its guild's lane has room, so the bot keeps only the facts its handling reads, taken as
//! the event arrives (measured in the load run's 2,000-message flood: see `Handler`).

use serenity::all::{ChannelId, GuildId, Message, MessageId, MessageType, RoleId, UserId};

/// One message, reduced to what handling it needs.
#[derive(Clone, Debug)]
pub struct Post {
    pub id: MessageId,
    pub channel: ChannelId,
    pub guild: Option<GuildId>,
    pub author: UserId,
    pub author_is_bot: bool,
    pub webhook: bool,
    /// The author's roles when Discord sent the member (gateway messages in a guild do; messages
    /// read back over REST do not).
    pub roles: Option<Vec<RoleId>>,
    /// A join, a pin or another system message rather than a post.
    pub system: bool,
    pub content: String,
    pub is_reply: bool,
    /// Users mentioned, not counting the author of the message replied to (a reply pings them
    /// without the writer choosing to).
    pub mentions: usize,
    /// Seconds since the Unix epoch.
    pub posted_at: u64,
}

impl From<Message> for Post {
    fn from(msg: Message) -> Post {
        let replied_to = msg.referenced_message.as_ref().map(|r| r.author.id);
        Post {
            id: msg.id,
            channel: msg.channel_id,
            guild: msg.guild_id,
            author: msg.author.id,
            author_is_bot: msg.author.bot,
            webhook: msg.webhook_id.is_some(),
            roles: msg.member.map(|m| m.roles),
            system: is_system(msg.kind),
            is_reply: msg.message_reference.is_some(),
            mentions: msg.mentions.iter().filter(|u| Some(u.id) != replied_to).count(),
            posted_at: msg.timestamp.unix_timestamp().max(0) as u64,
            content: msg.content,
        }
    }
}

/// A join, a pin, a boost or another message Discord writes itself, rather than a post.
pub fn is_system(kind: MessageType) -> bool {
    !matches!(kind, MessageType::Regular | MessageType::InlineReply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(extra: serde_json::Value) -> Message {
        let mut base = serde_json::json!({
            "id": "30", "channel_id": "20", "guild_id": "10",
            "author": {"id": "40", "username": "pat", "discriminator": "0", "avatar": null},
            "content": "Thanks for the great care", "timestamp": "2026-11-25T10:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).expect("a valid message")
    }

    #[test]
    fn keeps_the_facts_handling_reads() {
        let post = Post::from(message(serde_json::json!({
            "member": {"roles": ["7", "8"], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": false, "mute": false}
        })));
        assert_eq!((post.id.get(), post.channel.get(), post.guild.map(|g| g.get())), (30, 20, Some(10)));
        assert_eq!(post.author.get(), 40);
        assert!(!post.author_is_bot && !post.webhook && !post.system && !post.is_reply);
        assert_eq!(post.roles.map(|r| r.iter().map(|r| r.get()).collect::<Vec<_>>()), Some(vec![7, 8]));
        assert_eq!(post.content, "Thanks for the great care");
        assert_eq!(post.posted_at, 1_795_600_800);
    }

    #[test]
    fn a_reply_does_not_count_the_ping_of_the_author_replied_to() {
        let user = |id: &str| serde_json::json!({"id": id, "username": "u", "discriminator": "0", "avatar": null});
        let post = Post::from(message(serde_json::json!({
            "type": 19,
            "mentions": [user("41"), user("42")],
            "message_reference": {"message_id": "29", "channel_id": "20", "guild_id": "10"},
            "referenced_message": message(serde_json::json!({"id": "29", "author": user("41")})),
        })));
        assert!(post.is_reply && !post.system);
        assert_eq!(post.mentions, 1, "only the user the writer chose to mention");
        assert_eq!(post.roles, None, "no member sent: roles unknown");
    }
}
