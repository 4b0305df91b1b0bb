//! Checks payloads with serenity's own model types before the fake sends them.
//!
//! Serenity drops a gateway dispatch it cannot deserialize: its `Event` enum has an untagged
//! `Unknown` fallback, so a MESSAGE_CREATE with a missing field silently becomes
//! `Event::Unknown` and `EventHandler::message` never runs. So every op-0 payload is parsed
//! here exactly as serenity's shard does (`serde_json::from_str::<GatewayEvent>` on the very
//! text that goes on the wire) and refused if it fails or lands in `Event::Unknown`; for the
//! events the fake knows, the typed `d` is deserialized again to name the failing field.
//! REST answers are checked with `check_rest::<T>` against the type serenity decodes them into.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use serenity::model::event::{Event, GatewayEvent};

/// The exact text of an op-0 dispatch frame.
pub fn dispatch_text(event: &str, data: &Value, seq: u64) -> String {
    json!({"op": 0, "s": seq, "t": event, "d": data}).to_string()
}

/// Deserialize like serenity's HTTP client does (`serde_json::from_slice` of the body bytes).
pub fn check_rest<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    let text = value.to_string();
    serde_json::from_str::<T>(&text)
        .map_err(|e| format!("serenity cannot decode it as {}: {e}", std::any::type_name::<T>()))
}

fn typed<T: DeserializeOwned>(d: &Value) -> Option<String> {
    serde_json::from_str::<T>(&d.to_string()).err().map(|e| format!("as {}: {e}", std::any::type_name::<T>()))
}

/// Why serenity would not deserialize `d` for `event` (for the events this fake produces
/// and the common ones a test may dispatch by hand).
fn typed_error(event: &str, d: &Value) -> Option<String> {
    use serenity::model::event::*;
    match event {
        "READY" => typed::<ReadyEvent>(d),
        "RESUMED" => typed::<ResumedEvent>(d),
        "GUILD_CREATE" => typed::<GuildCreateEvent>(d),
        "GUILD_UPDATE" => typed::<GuildUpdateEvent>(d),
        "GUILD_DELETE" => typed::<GuildDeleteEvent>(d),
        "GUILD_MEMBER_ADD" => typed::<GuildMemberAddEvent>(d),
        "GUILD_MEMBER_UPDATE" => typed::<GuildMemberUpdateEvent>(d),
        "GUILD_MEMBER_REMOVE" => typed::<GuildMemberRemoveEvent>(d),
        "GUILD_ROLE_CREATE" => typed::<GuildRoleCreateEvent>(d),
        "CHANNEL_CREATE" => typed::<ChannelCreateEvent>(d),
        "CHANNEL_UPDATE" => typed::<ChannelUpdateEvent>(d),
        "CHANNEL_DELETE" => typed::<ChannelDeleteEvent>(d),
        "THREAD_CREATE" => typed::<ThreadCreateEvent>(d),
        "MESSAGE_CREATE" => typed::<MessageCreateEvent>(d),
        "MESSAGE_UPDATE" => typed::<MessageUpdateEvent>(d),
        "MESSAGE_DELETE" => typed::<MessageDeleteEvent>(d),
        "MESSAGE_DELETE_BULK" => typed::<MessageDeleteBulkEvent>(d),
        "MESSAGE_REACTION_ADD" => typed::<ReactionAddEvent>(d),
        "MESSAGE_REACTION_REMOVE" => typed::<ReactionRemoveEvent>(d),
        "INTERACTION_CREATE" => typed::<InteractionCreateEvent>(d),
        "TYPING_START" => typed::<TypingStartEvent>(d),
        "PRESENCE_UPDATE" => typed::<PresenceUpdateEvent>(d),
        _ => None,
    }
}

/// Parse a dispatch frame the way serenity's shard does; `Err` names what failed.
pub fn check_dispatch(text: &str) -> Result<Event, String> {
    let parsed: GatewayEvent =
        serde_json::from_str(text).map_err(|e| format!("serenity cannot parse the frame as GatewayEvent: {e}"))?;
    let GatewayEvent::Dispatch(_, event) = parsed else {
        return Err("frame is not an op-0 dispatch".into());
    };
    if let Event::Unknown(unknown) = &event {
        let why = typed_error(&unknown.kind, &unknown.value).unwrap_or_else(|| {
            "serenity does not know this event type (use dispatch_unchecked to send it anyway)".into()
        });
        return Err(format!(
            "serenity would turn {} into Event::Unknown and no EventHandler method would run: {why}",
            unknown.kind
        ));
    }
    Ok(event)
}
