//! The fake world (bot user, application, users, guilds, roles, channels, members) and the
//! builders that turn it — plus the test-facing specs (`MessageSpec`, `SlashSpec`, ...) — into
//! Discord JSON payloads that serenity 0.12 deserializes.
//!
//! Everything here is invented (the Maple Grove Health practice used across Bedside). All ids
//! are `u64` snowflakes exposed as consts so tests can name them. Payload builders return
//! `serde_json::Value`; the fake validates every payload against serenity's own types before it
//! is sent (see `validate.rs`), and the unit tests at the bottom check each builder directly.

use serde_json::{Map, Value, json};
use serenity::model::channel::ChannelType;
use serenity::model::permissions::Permissions;

// ---------------------------------------------------------------------------------------------
// Ids (all invented). Snowflakes from late 2023, so every id the fake generates later is newer.
// ---------------------------------------------------------------------------------------------

/// The application id. For modern Discord apps the bot user id equals the application id.
pub const APPLICATION_ID: u64 = 1_180_000_000_000_000_001;
/// The bot's user id (same as [`APPLICATION_ID`]).
pub const BOT_USER_ID: u64 = APPLICATION_ID;
/// The bot's username.
pub const BOT_USERNAME: &str = "Bedside";

/// "Maple Grove Health Community", the main fixture guild.
pub const GUILD_ID: u64 = 1_180_000_000_000_000_100;
/// A second guild ("Cedar Hollow Book Club") so tests can check other guilds are not affected.
/// With two shards it is on the other one: `(id >> 22) % 2` is 0 here and 1 for [`GUILD_ID`].
pub const OTHER_GUILD_ID: u64 = 1_180_000_000_004_200_000;

/// `@everyone` — on Discord its id equals the guild id.
pub const ROLE_EVERYONE: u64 = GUILD_ID;
pub const ROLE_STAFF: u64 = 1_180_000_000_000_000_101;
pub const ROLE_CLINICIAN: u64 = 1_180_000_000_000_000_102;
pub const ROLE_FRONT_DESK: u64 = 1_180_000_000_000_000_103;
pub const ROLE_PATIENT: u64 = 1_180_000_000_000_000_104;
/// Has MANAGE_MESSAGES.
pub const ROLE_MODERATOR: u64 = 1_180_000_000_000_000_105;
/// The managed role Discord creates for the bot's integration (tags.bot_id = the bot).
pub const ROLE_BOT: u64 = 1_180_000_000_000_000_106;

pub const CATEGORY_COMMUNITY: u64 = 1_180_000_000_000_000_110;
pub const CATEGORY_STAFF: u64 = 1_180_000_000_000_000_111;
pub const CH_ANNOUNCEMENTS: u64 = 1_180_000_000_000_000_120;
pub const CH_ASK_THE_CLINIC: u64 = 1_180_000_000_000_000_121;
pub const CH_HEALTH_TIPS: u64 = 1_180_000_000_000_000_122;
pub const CH_FEEDBACK: u64 = 1_180_000_000_000_000_123;
pub const CH_GENERAL: u64 = 1_180_000_000_000_000_124;
/// Private: only Staff (and the bot) can view it.
pub const CH_STAFF_ALERTS: u64 = 1_180_000_000_000_000_125;
/// Private: only Staff (and the bot) can view it.
pub const CH_STAFF_FEEDBACK: u64 = 1_180_000_000_000_000_126;
/// A public thread (type 11) under #ask-the-clinic.
pub const THREAD_ASK_THE_CLINIC: u64 = 1_180_000_000_000_000_130;

/// Dr. Priya Raman — Staff + Clinician.
pub const USER_PRIYA_RAMAN: u64 = 1_180_000_000_000_000_301;
/// Sam Whitaker (practice manager) — Staff; also the guild owner.
pub const USER_SAM_WHITAKER: u64 = 1_180_000_000_000_000_302;
/// Maya Chen — Staff + Front Desk.
pub const USER_MAYA_CHEN: u64 = 1_180_000_000_000_000_303;
/// Rowan Ellis — community Moderator (MANAGE_MESSAGES).
pub const USER_MODERATOR: u64 = 1_180_000_000_000_000_304;
/// Patient with role Patient (also a member of the other guild).
pub const USER_PATIENT_A: u64 = 1_180_000_000_000_000_311;
/// Patient with role Patient.
pub const USER_PATIENT_B: u64 = 1_180_000_000_000_000_312;
/// Patient with no role at all.
pub const USER_PATIENT_C: u64 = 1_180_000_000_000_000_313;

/// `@everyone` of the other guild.
pub const OTHER_ROLE_EVERYONE: u64 = OTHER_GUILD_ID;
pub const OTHER_CH_GENERAL: u64 = 1_180_000_000_000_000_210;

/// Date every fixture member joined (RFC 3339).
pub const JOINED_AT: &str = "2023-11-20T17:00:00.000000+00:00";
/// Default attachment size limit Discord reports on interactions (25 MiB).
pub const ATTACHMENT_SIZE_LIMIT: u64 = 26_214_400;

const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

// ---------------------------------------------------------------------------------------------
// Fixture structures
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct UserFixture {
    pub id: u64,
    pub username: String,
    pub global_name: Option<String>,
    pub bot: bool,
}

#[derive(Clone, Debug)]
pub struct RoleFixture {
    pub id: u64,
    pub name: String,
    pub permissions: Permissions,
    pub position: u16,
    pub color: u32,
    pub hoist: bool,
    /// `Some(bot user id)` for the managed integration role of a bot.
    pub managed_for_bot: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct OverwriteFixture {
    /// Role id or user id.
    pub id: u64,
    /// `true` when `id` is a member, `false` for a role.
    pub member: bool,
    pub allow: Permissions,
    pub deny: Permissions,
}

#[derive(Clone, Debug)]
pub struct ChannelFixture {
    pub id: u64,
    pub name: String,
    /// Text, Category, News, PublicThread, ...
    pub kind: ChannelType,
    /// Category for channels, parent channel for threads.
    pub parent_id: Option<u64>,
    pub position: u16,
    pub topic: Option<String>,
    pub overwrites: Vec<OverwriteFixture>,
    /// Thread owner (threads only).
    pub owner_id: Option<u64>,
}

impl ChannelFixture {
    pub fn is_thread(&self) -> bool {
        matches!(self.kind, ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread)
    }
}

#[derive(Clone, Debug)]
pub struct MemberFixture {
    pub user_id: u64,
    /// Role ids, without `@everyone`.
    pub roles: Vec<u64>,
    pub nick: Option<String>,
}

#[derive(Clone, Debug)]
pub struct GuildDef {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    /// Must include `@everyone` (id == guild id).
    pub roles: Vec<RoleFixture>,
    /// Channels, categories and threads.
    pub channels: Vec<ChannelFixture>,
    pub members: Vec<MemberFixture>,
    pub system_channel_id: Option<u64>,
}

impl GuildDef {
    pub fn channel(&self, id: u64) -> Option<&ChannelFixture> {
        self.channels.iter().find(|c| c.id == id)
    }
    pub fn member(&self, user_id: u64) -> Option<&MemberFixture> {
        self.members.iter().find(|m| m.user_id == user_id)
    }
    pub fn role(&self, id: u64) -> Option<&RoleFixture> {
        self.roles.iter().find(|r| r.id == id)
    }
}

/// The whole fake world: bot user, application, every user, and the guilds the bot is in
/// (the bot receives one GUILD_CREATE per guild, in this order). Named after its main guild.
#[derive(Clone, Debug)]
pub struct GuildFixture {
    pub application_id: u64,
    pub bot: UserFixture,
    /// Every non-bot user that appears anywhere (members, message authors).
    pub users: Vec<UserFixture>,
    pub guilds: Vec<GuildDef>,
}

impl Default for GuildFixture {
    fn default() -> Self {
        Self::maple_grove()
    }
}

fn user(id: u64, username: &str, global_name: &str) -> UserFixture {
    UserFixture { id, username: username.into(), global_name: Some(global_name.into()), bot: false }
}

fn role(id: u64, name: &str, permissions: Permissions, position: u16, color: u32) -> RoleFixture {
    RoleFixture { id, name: name.into(), permissions, position, color, hoist: position > 0, managed_for_bot: None }
}

fn text(id: u64, name: &str, parent: u64, position: u16, topic: &str) -> ChannelFixture {
    ChannelFixture {
        id,
        name: name.into(),
        kind: ChannelType::Text,
        parent_id: Some(parent),
        position,
        topic: Some(topic.into()),
        overwrites: vec![],
        owner_id: None,
    }
}

fn category(id: u64, name: &str, position: u16) -> ChannelFixture {
    ChannelFixture {
        id,
        name: name.into(),
        kind: ChannelType::Category,
        parent_id: None,
        position,
        topic: None,
        overwrites: vec![],
        owner_id: None,
    }
}

fn member(user_id: u64, roles: &[u64]) -> MemberFixture {
    MemberFixture { user_id, roles: roles.to_vec(), nick: None }
}

/// `@everyone` permissions of a typical community server.
pub fn everyone_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::CREATE_PUBLIC_THREADS
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ADD_REACTIONS
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::USE_APPLICATION_COMMANDS
        | Permissions::CHANGE_NICKNAME
}

/// Permissions of the bot's managed role.
pub fn bot_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::ADD_REACTIONS
        | Permissions::MANAGE_MESSAGES
        | Permissions::MANAGE_THREADS
        | Permissions::MODERATE_MEMBERS
        | Permissions::USE_APPLICATION_COMMANDS
}

impl GuildFixture {
    /// The default world: "Maple Grove Health Community" plus a small second guild.
    pub fn maple_grove() -> Self {
        let bot = UserFixture { id: BOT_USER_ID, username: BOT_USERNAME.into(), global_name: None, bot: true };
        let users = vec![
            user(USER_PRIYA_RAMAN, "dr.priya.raman", "Dr. Priya Raman"),
            user(USER_SAM_WHITAKER, "sam.whitaker", "Sam Whitaker"),
            user(USER_MAYA_CHEN, "maya.frontdesk", "Maya Chen"),
            user(USER_MODERATOR, "rowan.ellis", "Rowan (mod)"),
            user(USER_PATIENT_A, "trailrunner_jo", "Jo"),
            user(USER_PATIENT_B, "pdx_gardener", "Alex G."),
            user(USER_PATIENT_C, "quiet.reader42", "R."),
        ];
        let view_only_staff = |id| ChannelFixture {
            overwrites: vec![
                OverwriteFixture {
                    id: ROLE_EVERYONE,
                    member: false,
                    allow: Permissions::empty(),
                    deny: Permissions::VIEW_CHANNEL,
                },
                OverwriteFixture {
                    id: ROLE_STAFF,
                    member: false,
                    allow: Permissions::VIEW_CHANNEL,
                    deny: Permissions::empty(),
                },
                OverwriteFixture {
                    id: ROLE_BOT,
                    member: false,
                    allow: Permissions::VIEW_CHANNEL,
                    deny: Permissions::empty(),
                },
            ],
            ..text(
                id,
                if id == CH_STAFF_ALERTS { "staff-alerts" } else { "staff-feedback" },
                CATEGORY_STAFF,
                if id == CH_STAFF_ALERTS { 0 } else { 1 },
                "Staff only.",
            )
        };
        let mut staff_category = category(CATEGORY_STAFF, "Staff", 1);
        staff_category.overwrites = view_only_staff(CH_STAFF_ALERTS).overwrites;
        let announcements = ChannelFixture {
            overwrites: vec![OverwriteFixture {
                id: ROLE_EVERYONE,
                member: false,
                allow: Permissions::empty(),
                deny: Permissions::SEND_MESSAGES,
            }],
            ..text(CH_ANNOUNCEMENTS, "announcements", CATEGORY_COMMUNITY, 0, "News from Maple Grove Health.")
        };
        let main = GuildDef {
            id: GUILD_ID,
            name: "Maple Grove Health Community".into(),
            owner_id: USER_SAM_WHITAKER,
            roles: vec![
                role(ROLE_EVERYONE, "@everyone", everyone_permissions(), 0, 0),
                role(ROLE_PATIENT, "Patient", Permissions::empty(), 1, 0x2e_cc71),
                role(ROLE_FRONT_DESK, "Front Desk", Permissions::empty(), 2, 0x34_98db),
                role(ROLE_CLINICIAN, "Clinician", Permissions::empty(), 3, 0x1a_bc9c),
                role(ROLE_STAFF, "Staff", Permissions::MENTION_EVERYONE | Permissions::MANAGE_THREADS, 4, 0x9b_59b6),
                role(
                    ROLE_MODERATOR,
                    "Moderator",
                    Permissions::MANAGE_MESSAGES | Permissions::MODERATE_MEMBERS,
                    5,
                    0xe6_7e22,
                ),
                RoleFixture {
                    managed_for_bot: Some(BOT_USER_ID),
                    hoist: false,
                    ..role(ROLE_BOT, BOT_USERNAME, bot_permissions(), 6, 0)
                },
            ],
            channels: vec![
                category(CATEGORY_COMMUNITY, "Community", 0),
                announcements,
                text(
                    CH_ASK_THE_CLINIC,
                    "ask-the-clinic",
                    CATEGORY_COMMUNITY,
                    1,
                    "General questions for the clinic team. No personal medical details, please.",
                ),
                text(CH_HEALTH_TIPS, "health-tips", CATEGORY_COMMUNITY, 2, "Seasonal health tips."),
                text(CH_FEEDBACK, "feedback", CATEGORY_COMMUNITY, 3, "Tell us how we are doing."),
                text(CH_GENERAL, "general", CATEGORY_COMMUNITY, 4, "Chat with the community."),
                staff_category,
                view_only_staff(CH_STAFF_ALERTS),
                view_only_staff(CH_STAFF_FEEDBACK),
                ChannelFixture {
                    id: THREAD_ASK_THE_CLINIC,
                    name: "Flu shot clinic hours?".into(),
                    kind: ChannelType::PublicThread,
                    parent_id: Some(CH_ASK_THE_CLINIC),
                    position: 0,
                    topic: None,
                    overwrites: vec![],
                    owner_id: Some(USER_PATIENT_B),
                },
            ],
            members: vec![
                member(BOT_USER_ID, &[ROLE_BOT]),
                member(USER_PRIYA_RAMAN, &[ROLE_STAFF, ROLE_CLINICIAN]),
                member(USER_SAM_WHITAKER, &[ROLE_STAFF]),
                member(USER_MAYA_CHEN, &[ROLE_STAFF, ROLE_FRONT_DESK]),
                member(USER_MODERATOR, &[ROLE_MODERATOR]),
                member(USER_PATIENT_A, &[ROLE_PATIENT]),
                member(USER_PATIENT_B, &[ROLE_PATIENT]),
                member(USER_PATIENT_C, &[]),
            ],
            system_channel_id: Some(CH_GENERAL),
        };
        let other = GuildDef {
            id: OTHER_GUILD_ID,
            name: "Cedar Hollow Book Club".into(),
            owner_id: USER_PATIENT_A,
            roles: vec![role(OTHER_ROLE_EVERYONE, "@everyone", everyone_permissions(), 0, 0)],
            channels: vec![ChannelFixture { parent_id: None, ..text(OTHER_CH_GENERAL, "general", 0, 0, "Books!") }],
            members: vec![member(BOT_USER_ID, &[]), member(USER_PATIENT_A, &[])],
            system_channel_id: Some(OTHER_CH_GENERAL),
        };
        GuildFixture { application_id: APPLICATION_ID, bot, users, guilds: vec![main, other] }
    }

    /// A user by id (the bot included).
    pub fn user(&self, id: u64) -> Option<&UserFixture> {
        if id == self.bot.id { Some(&self.bot) } else { self.users.iter().find(|u| u.id == id) }
    }

    pub fn guild(&self, id: u64) -> Option<&GuildDef> {
        self.guilds.iter().find(|g| g.id == id)
    }

    /// The guild a channel (or thread) belongs to.
    pub fn guild_of_channel(&self, channel_id: u64) -> Option<&GuildDef> {
        self.guilds.iter().find(|g| g.channel(channel_id).is_some())
    }

    /// Guild-level permissions of a member (`@everyone` + roles; ADMINISTRATOR means all).
    pub fn member_permissions(&self, guild: &GuildDef, roles: &[u64]) -> Permissions {
        let mut perms = guild.role(guild.id).map(|r| r.permissions).unwrap_or_else(Permissions::empty);
        for r in roles {
            if let Some(role) = guild.role(*r) {
                perms |= role.permissions;
            }
        }
        if perms.contains(Permissions::ADMINISTRATOR) {
            return Permissions::all();
        }
        perms
    }
}

// ---------------------------------------------------------------------------------------------
// Snowflakes and timestamps
// ---------------------------------------------------------------------------------------------

/// The milliseconds since the Unix epoch encoded in a snowflake.
pub fn snowflake_millis(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// A snowflake for "now" (low bits zero); the fake's counter makes them unique.
pub fn snowflake_now() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(DISCORD_EPOCH_MS);
    (now.saturating_sub(DISCORD_EPOCH_MS)) << 22
}

/// RFC 3339 timestamp for some Unix milliseconds, in the form Discord sends.
pub fn rfc3339_millis(ms: u64) -> String {
    serenity::model::Timestamp::from_millis(ms as i64).map(|t| t.to_string()).unwrap_or_else(|_| JOINED_AT.to_string())
}

/// The creation time of a snowflake as Discord would print it.
pub fn snowflake_timestamp(id: u64) -> String {
    rfc3339_millis(snowflake_millis(id))
}

/// The current time as Discord would print it.
pub fn now_timestamp() -> String {
    rfc3339_millis(snowflake_millis(snowflake_now()))
}

/// Ids are strings in Discord JSON.
pub fn sid(id: u64) -> Value {
    Value::String(id.to_string())
}

fn perm_str(p: Permissions) -> Value {
    Value::String(p.bits().to_string())
}

// ---------------------------------------------------------------------------------------------
// Payload builders: users, roles, channels, members, guilds, READY, application, commands
// ---------------------------------------------------------------------------------------------

/// A Discord user object.
pub fn user_json(u: &UserFixture) -> Value {
    json!({
        "id": sid(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": null,
        "bot": u.bot,
        "public_flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
    })
}

/// The current (bot) user, as `GET /users/@me` and READY return it.
pub fn current_user_json(world: &GuildFixture) -> Value {
    let mut v = user_json(&world.bot);
    let m = v.as_object_mut().expect("object");
    m.insert("verified".into(), json!(true));
    m.insert("mfa_enabled".into(), json!(false));
    m.insert("flags".into(), json!(0));
    m.insert("email".into(), Value::Null);
    m.insert("locale".into(), json!("en-US"));
    m.insert("premium_type".into(), json!(0));
    v
}

/// A user that may not be in the fixture (unknown ids get a generated name).
pub fn user_json_by_id(world: &GuildFixture, id: u64) -> Value {
    match world.user(id) {
        Some(u) => user_json(u),
        None => user_json(&UserFixture { id, username: format!("user{id}"), global_name: None, bot: false }),
    }
}

pub fn role_json(r: &RoleFixture) -> Value {
    let mut tags = Map::new();
    if let Some(bot) = r.managed_for_bot {
        tags.insert("bot_id".into(), sid(bot));
    }
    json!({
        "id": sid(r.id),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": r.hoist,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": perm_str(r.permissions),
        "managed": r.managed_for_bot.is_some(),
        "mentionable": r.managed_for_bot.is_none() && r.position > 0,
        "flags": 0,
        "tags": tags,
    })
}

/// A guild channel / category / thread. `with_guild_id`: REST and thread objects carry
/// `guild_id`; channels inside GUILD_CREATE do not.
pub fn channel_json(c: &ChannelFixture, guild_id: u64, with_guild_id: bool) -> Value {
    let kind: u8 = c.kind.into();
    let mut v = json!({
        "id": sid(c.id),
        "type": kind,
        "name": c.name,
        "position": c.position,
        "parent_id": c.parent_id.map(sid),
        "permission_overwrites": c.overwrites.iter().map(|o| json!({
            "id": sid(o.id),
            "type": if o.member { 1 } else { 0 },
            "allow": perm_str(o.allow),
            "deny": perm_str(o.deny),
        })).collect::<Vec<_>>(),
        "flags": 0,
    });
    let m = v.as_object_mut().expect("object");
    if with_guild_id || c.is_thread() {
        m.insert("guild_id".into(), sid(guild_id));
    }
    match c.kind {
        ChannelType::Category => {}
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread => {
            m.remove("permission_overwrites");
            m.insert("owner_id".into(), json!(c.owner_id.map(sid)));
            m.insert("last_message_id".into(), Value::Null);
            m.insert("rate_limit_per_user".into(), json!(0));
            m.insert("message_count".into(), json!(0));
            m.insert("member_count".into(), json!(1));
            m.insert("total_message_sent".into(), json!(0));
            m.insert(
                "thread_metadata".into(),
                json!({
                    "archived": false,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": JOINED_AT,
                    "locked": false,
                    "create_timestamp": JOINED_AT,
                }),
            );
        }
        _ => {
            m.insert("topic".into(), json!(c.topic));
            m.insert("nsfw".into(), json!(false));
            m.insert("last_message_id".into(), Value::Null);
            m.insert("rate_limit_per_user".into(), json!(0));
            m.insert("default_auto_archive_duration".into(), json!(1440));
        }
    }
    v
}

/// A full guild member object (with `user`). `guild_id` is set for REST answers
/// (`GET /guilds/{g}/members/{u}` does not send it on Discord, serenity fills it itself).
pub fn member_json(world: &GuildFixture, m: &MemberFixture) -> Value {
    json!({
        "user": user_json_by_id(world, m.user_id),
        "nick": m.nick,
        "avatar": null,
        "banner": null,
        "roles": m.roles.iter().map(|r| sid(*r)).collect::<Vec<_>>(),
        "joined_at": JOINED_AT,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// The partial member Discord puts into MESSAGE_CREATE (`member`, no `user`) and into
/// `mentions[].member`.
pub fn partial_member_json(roles: &[u64], nick: Option<&str>) -> Value {
    json!({
        "roles": roles.iter().map(|r| sid(*r)).collect::<Vec<_>>(),
        "nick": nick,
        "avatar": null,
        "banner": null,
        "joined_at": JOINED_AT,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

/// The `d` of a GUILD_CREATE for an available guild.
pub fn guild_create_json(world: &GuildFixture, g: &GuildDef) -> Value {
    let channels: Vec<Value> =
        g.channels.iter().filter(|c| !c.is_thread()).map(|c| channel_json(c, g.id, false)).collect();
    let threads: Vec<Value> =
        g.channels.iter().filter(|c| c.is_thread()).map(|c| channel_json(c, g.id, true)).collect();
    let mut v = json!({
        "id": sid(g.id),
        "name": g.name,
        "icon": null,
        "icon_hash": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": sid(g.owner_id),
        "afk_channel_id": null,
        "afk_timeout": 300,
        "widget_enabled": false,
        "widget_channel_id": null,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": g.roles.iter().map(role_json).collect::<Vec<_>>(),
        "emojis": [],
        "features": ["COMMUNITY", "NEWS"],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": g.system_channel_id.map(sid),
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null,
        "max_members": 500000,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "nsfw": false,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
        "incidents_data": null,
    });
    let extra = json!({
        "joined_at": JOINED_AT,
        "large": false,
        "unavailable": false,
        "lazy": true,
        "member_count": g.members.len(),
        "voice_states": [],
        "members": g.members.iter().map(|m| member_json(world, m)).collect::<Vec<_>>(),
        "channels": channels,
        "threads": threads,
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// The `d` of READY.
pub fn ready_json(
    world: &GuildFixture,
    guilds: &[&GuildDef],
    session_id: &str,
    resume_gateway_url: &str,
    shard: [usize; 2],
) -> Value {
    json!({
        "v": 10,
        "user": current_user_json(world),
        "guilds": guilds.iter().map(|g| json!({"id": sid(g.id), "unavailable": true})).collect::<Vec<_>>(),
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "shard": shard,
        "application": {"id": sid(world.application_id), "flags": 565248},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["us-west", "us-central"],
        "user_settings": {},
        "_trace": ["[\"fake-discord\",{\"micros\":1}]"],
    })
}

/// `GET /oauth2/applications/@me` and `GET /applications/@me`.
pub fn application_json(world: &GuildFixture) -> Value {
    let owner = world.guilds.first().map(|g| g.owner_id).unwrap_or(world.bot.id);
    json!({
        "id": sid(world.application_id),
        "name": world.bot.username,
        "icon": null,
        "description": "Keeps a healthcare practice's community server professional (fake).",
        "type": null,
        "bot": user_json(&world.bot),
        "summary": "",
        "bot_public": false,
        "bot_require_code_grant": false,
        "verify_key": "0000000000000000000000000000000000000000000000000000000000000000",
        "flags": 565248,
        "owner": user_json_by_id(world, owner),
        "team": null,
        "rpc_origins": [],
        "hook": true,
        "is_monetized": false,
        "integration_types_config": {"0": {}},
        "approximate_guild_count": world.guilds.len(),
    })
}

/// Turn a command as the bot sends it (PUT/POST body element) into the Command Discord returns.
pub fn command_json(world: &GuildFixture, body: &Value, id: u64, version: u64, guild_id: Option<u64>) -> Value {
    let mut out = body.as_object().cloned().unwrap_or_default();
    out.insert("id".into(), sid(id));
    out.insert("application_id".into(), sid(world.application_id));
    out.insert("version".into(), sid(version));
    out.entry("type").or_insert(json!(1));
    out.entry("description").or_insert(json!(""));
    out.entry("options").or_insert(json!([]));
    out.entry("default_member_permissions").or_insert(Value::Null);
    out.entry("nsfw").or_insert(json!(false));
    out.entry("integration_types").or_insert(json!([0]));
    out.entry("contexts").or_insert(Value::Null);
    if let Some(g) = guild_id {
        out.insert("guild_id".into(), sid(g));
    } else {
        out.entry("dm_permission").or_insert(json!(true));
    }
    Value::Object(out)
}

/// A DM channel (type 1) with `recipient`.
pub fn dm_channel_json(world: &GuildFixture, channel_id: u64, recipient: u64) -> Value {
    json!({
        "id": sid(channel_id),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user_json_by_id(world, recipient)],
    })
}

/// Gateway URL answer for `GET /gateway/bot`.
pub fn bot_gateway_json(ws_url: &str, shards: u32) -> Value {
    json!({
        "url": ws_url,
        "shards": shards,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
    })
}

// ---------------------------------------------------------------------------------------------
// Test-facing specs
// ---------------------------------------------------------------------------------------------

/// Who wrote a message. `name`/`bot` default to the fixture user (or `user{id}` / false).
#[derive(Clone, Debug)]
pub struct AuthorSpec {
    pub id: u64,
    pub name: Option<String>,
    pub bot: Option<bool>,
}

/// A message "sent by a user" that the fake dispatches as MESSAGE_CREATE (or seeds into history).
#[derive(Clone, Debug)]
pub struct MessageSpec {
    /// `None`: the next snowflake.
    pub id: Option<u64>,
    pub channel_id: u64,
    /// `None`: taken from the fixture channel's guild; a DM channel (see
    /// `FakeDiscord::dm_channel`) gives a DM message without `guild_id`/`member`.
    pub guild_id: Option<u64>,
    pub author: AuthorSpec,
    /// Member roles. `None`: the fixture member's roles. Ignored for DMs and webhooks (no
    /// `member` object then).
    pub member_roles: Option<Vec<u64>>,
    pub content: String,
    /// Message id this replies to (sets `message_reference`, and `referenced_message` when the
    /// fake has that message stored).
    pub reply_to: Option<u64>,
    /// User ids mentioned; sent as full user objects in `mentions`.
    pub mentions: Vec<u64>,
    /// Role ids mentioned (`mention_roles`).
    pub mention_roles: Vec<u64>,
    pub webhook_id: Option<u64>,
    /// Message type: 0 default, 19 reply, 7 member join, ...
    pub kind: u8,
    /// Raw embed objects.
    pub embeds: Vec<Value>,
}

impl MessageSpec {
    /// A message by `author_id` in `channel_id` (guild resolved from the fixture).
    pub fn new(channel_id: u64, author_id: u64, content: impl Into<String>) -> Self {
        MessageSpec {
            id: None,
            channel_id,
            guild_id: None,
            author: AuthorSpec { id: author_id, name: None, bot: None },
            member_roles: None,
            content: content.into(),
            reply_to: None,
            mentions: vec![],
            mention_roles: vec![],
            webhook_id: None,
            kind: 0,
            embeds: vec![],
        }
    }
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }
    pub fn in_guild(mut self, guild_id: u64) -> Self {
        self.guild_id = Some(guild_id);
        self
    }
    pub fn roles(mut self, roles: &[u64]) -> Self {
        self.member_roles = Some(roles.to_vec());
        self
    }
    pub fn author_name(mut self, name: impl Into<String>) -> Self {
        self.author.name = Some(name.into());
        self
    }
    pub fn bot_author(mut self, bot: bool) -> Self {
        self.author.bot = Some(bot);
        self
    }
    /// A reply (type 19) to `message_id`.
    pub fn reply_to(mut self, message_id: u64) -> Self {
        self.reply_to = Some(message_id);
        self.kind = 19;
        self
    }
    pub fn mentions(mut self, users: &[u64]) -> Self {
        self.mentions = users.to_vec();
        self
    }
    pub fn mention_roles(mut self, roles: &[u64]) -> Self {
        self.mention_roles = roles.to_vec();
        self
    }
    /// Posted by a webhook: no `member`, author is a bot user with the webhook's id.
    pub fn webhook(mut self, webhook_id: u64) -> Self {
        self.webhook_id = Some(webhook_id);
        self.author.id = webhook_id;
        self.author.bot = Some(true);
        self
    }
    pub fn kind(mut self, kind: u8) -> Self {
        self.kind = kind;
        self
    }
    pub fn embed(mut self, embed: Value) -> Self {
        self.embeds.push(embed);
        self
    }
}

/// A CHAT_INPUT command invocation (INTERACTION_CREATE type 2, data.type 1).
#[derive(Clone, Debug)]
pub struct SlashSpec {
    pub channel_id: u64,
    /// `None`: from the fixture channel (DM channels give a DM interaction).
    pub guild_id: Option<u64>,
    pub user_id: u64,
    pub name: String,
    /// Option objects, see [`SlashOption`].
    pub options: Vec<Value>,
    /// `None`: the id of the registered command with that name, or a new snowflake.
    pub command_id: Option<u64>,
}

impl SlashSpec {
    pub fn new(channel_id: u64, user_id: u64, name: impl Into<String>) -> Self {
        SlashSpec { channel_id, guild_id: None, user_id, name: name.into(), options: vec![], command_id: None }
    }
    pub fn option(mut self, option: Value) -> Self {
        self.options.push(option);
        self
    }
    pub fn in_guild(mut self, guild_id: u64) -> Self {
        self.guild_id = Some(guild_id);
        self
    }
}

/// Builders for slash-command option values (`data.options[]`).
pub struct SlashOption;

impl SlashOption {
    pub fn string(name: &str, value: &str) -> Value {
        json!({"name": name, "type": 3, "value": value})
    }
    pub fn integer(name: &str, value: i64) -> Value {
        json!({"name": name, "type": 4, "value": value})
    }
    pub fn boolean(name: &str, value: bool) -> Value {
        json!({"name": name, "type": 5, "value": value})
    }
    pub fn user(name: &str, user_id: u64) -> Value {
        json!({"name": name, "type": 6, "value": user_id.to_string()})
    }
    pub fn channel(name: &str, channel_id: u64) -> Value {
        json!({"name": name, "type": 7, "value": channel_id.to_string()})
    }
    pub fn role(name: &str, role_id: u64) -> Value {
        json!({"name": name, "type": 8, "value": role_id.to_string()})
    }
    pub fn number(name: &str, value: f64) -> Value {
        json!({"name": name, "type": 10, "value": value})
    }
    pub fn subcommand(name: &str, options: Vec<Value>) -> Value {
        json!({"name": name, "type": 1, "options": options})
    }
    pub fn subcommand_group(name: &str, subcommands: Vec<Value>) -> Value {
        json!({"name": name, "type": 2, "options": subcommands})
    }
}

/// A message context-menu command (INTERACTION_CREATE type 2, data.type 3) on a stored message.
#[derive(Clone, Debug)]
pub struct MessageCommandSpec {
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub user_id: u64,
    pub name: String,
    /// Must be a message the fake knows (posted, seeded, or sent by the bot).
    pub target_message_id: u64,
    pub command_id: Option<u64>,
}

impl MessageCommandSpec {
    pub fn new(channel_id: u64, user_id: u64, name: impl Into<String>, target: u64) -> Self {
        MessageCommandSpec {
            channel_id,
            guild_id: None,
            user_id,
            name: name.into(),
            target_message_id: target,
            command_id: None,
        }
    }
}

/// A button click (INTERACTION_CREATE type 3, data.component_type 2).
#[derive(Clone, Debug)]
pub struct ButtonSpec {
    pub channel_id: u64,
    pub guild_id: Option<u64>,
    pub user_id: u64,
    pub custom_id: String,
    /// The message carrying the button. `None`: the newest stored message in the channel
    /// whose components contain `custom_id` (typically one the bot sent).
    pub message_id: Option<u64>,
}

impl ButtonSpec {
    pub fn new(channel_id: u64, user_id: u64, custom_id: impl Into<String>) -> Self {
        ButtonSpec { channel_id, guild_id: None, user_id, custom_id: custom_id.into(), message_id: None }
    }
    pub fn on_message(mut self, message_id: u64) -> Self {
        self.message_id = Some(message_id);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Message / interaction payload builders
// ---------------------------------------------------------------------------------------------

/// Where a message or interaction happens, resolved against the fixture.
#[derive(Clone, Debug)]
pub struct Place {
    pub channel_id: u64,
    /// `None` for a DM.
    pub guild_id: Option<u64>,
}

/// A full message object as MESSAGE_CREATE carries it (with `guild_id`/`member` for guild
/// messages). `referenced` is the stored message replied to, if any.
pub fn message_json(
    world: &GuildFixture,
    spec: &MessageSpec,
    id: u64,
    place: &Place,
    member_roles: Option<&[u64]>,
    referenced: Option<&Value>,
) -> Value {
    let mut author = match world.user(spec.author.id) {
        Some(u) if spec.webhook_id.is_none() => user_json(u),
        _ => user_json(&UserFixture {
            id: spec.author.id,
            username: spec.author.name.clone().unwrap_or_else(|| format!("user{}", spec.author.id)),
            global_name: None,
            bot: spec.author.bot.unwrap_or(false),
        }),
    };
    if let Some(name) = &spec.author.name {
        author["username"] = json!(name);
    }
    if let Some(bot) = spec.author.bot {
        author["bot"] = json!(bot);
    }
    let guild = place.guild_id.and_then(|g| world.guild(g));
    let mentions: Vec<Value> = spec
        .mentions
        .iter()
        .map(|uid| {
            let mut u = user_json_by_id(world, *uid);
            if let Some(m) = guild.and_then(|g| g.member(*uid)) {
                u["member"] = partial_member_json(&m.roles, m.nick.as_deref());
            }
            u
        })
        .collect();
    let mut v = json!({
        "id": sid(id),
        "channel_id": sid(place.channel_id),
        "author": author,
        "content": spec.content,
        "timestamp": snowflake_timestamp(id),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": spec.content.contains("@everyone") || spec.content.contains("@here"),
        "mentions": mentions,
        "mention_roles": spec.mention_roles.iter().map(|r| sid(*r)).collect::<Vec<_>>(),
        "attachments": [],
        "embeds": spec.embeds,
        "components": [],
        "pinned": false,
        "type": spec.kind,
        "flags": 0,
    });
    let m = v.as_object_mut().expect("object");
    if let Some(w) = spec.webhook_id {
        m.insert("webhook_id".into(), sid(w));
    }
    if let Some(r) = spec.reply_to {
        m.insert(
            "message_reference".into(),
            json!({
                "type": 0,
                "message_id": sid(r),
                "channel_id": sid(place.channel_id),
                "guild_id": place.guild_id.map(sid),
            }),
        );
        m.insert("referenced_message".into(), referenced.cloned().unwrap_or(Value::Null));
    }
    if let Some(g) = place.guild_id {
        m.insert("guild_id".into(), sid(g));
        if let Some(roles) = member_roles {
            let nick = guild.and_then(|g| g.member(spec.author.id)).and_then(|m| m.nick.clone());
            m.insert("member".into(), partial_member_json(roles, nick.as_deref()));
        }
    }
    v
}

/// The message object REST returns: MESSAGE_CREATE's gateway-only fields (`guild_id`, `member`)
/// removed, as Discord does.
pub fn rest_message(stored: &Value) -> Value {
    let mut v = stored.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("guild_id");
        m.remove("member");
        if let Some(Value::Array(mentions)) = m.get_mut("mentions") {
            for u in mentions {
                if let Some(u) = u.as_object_mut() {
                    u.remove("member");
                }
            }
        }
    }
    v
}

/// A message the bot creates through REST (channel message, interaction response, follow-up),
/// built from the request body the bot sent. Stored with `guild_id` (for the gateway echo).
pub fn bot_message_json(
    world: &GuildFixture,
    id: u64,
    place: &Place,
    body: &Value,
    kind: u8,
    referenced: Option<&Value>,
) -> Value {
    let body_obj = body.as_object().cloned().unwrap_or_default();
    let get = |k: &str| body_obj.get(k).cloned().filter(|v| !v.is_null());
    let embeds: Vec<Value> = get("embeds")
        .and_then(|e| e.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|mut e| {
            if let Some(o) = e.as_object_mut() {
                o.entry("type").or_insert(json!("rich"));
            }
            e
        })
        .collect();
    let mut v = json!({
        "id": sid(id),
        "channel_id": sid(place.channel_id),
        "author": user_json(&world.bot),
        "content": get("content").unwrap_or(json!("")),
        "timestamp": snowflake_timestamp(id),
        "edited_timestamp": null,
        "tts": get("tts").unwrap_or(json!(false)),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds,
        "components": get("components").unwrap_or(json!([])),
        "pinned": false,
        "type": kind,
        "flags": get("flags").unwrap_or(json!(0)),
    });
    let m = v.as_object_mut().expect("object");
    if let Some(nonce) = get("nonce") {
        m.insert("nonce".into(), nonce);
    }
    if let Some(reference) = get("message_reference") {
        let mid = reference.get("message_id").cloned().unwrap_or(Value::Null);
        m.insert(
            "message_reference".into(),
            json!({
                "type": 0,
                "message_id": mid,
                "channel_id": sid(place.channel_id),
                "guild_id": place.guild_id.map(sid),
            }),
        );
        m.insert("referenced_message".into(), referenced.cloned().unwrap_or(Value::Null));
        if kind == 0 {
            m.insert("type".into(), json!(19));
        }
    }
    if let Some(g) = place.guild_id {
        m.insert("guild_id".into(), sid(g));
        let roles =
            world.guild(g).and_then(|gd| gd.member(world.bot.id)).map(|mm| mm.roles.clone()).unwrap_or_default();
        m.insert("member".into(), partial_member_json(&roles, None));
    }
    v
}

/// Apply an edit body (PATCH message / edit original / update message) to a stored message.
pub fn apply_message_edit(stored: &mut Value, body: &Value) {
    let Some(obj) = stored.as_object_mut() else {
        return;
    };
    if let Some(b) = body.as_object() {
        for key in ["content", "components", "flags"] {
            if let Some(v) = b.get(key) {
                if !v.is_null() {
                    obj.insert(key.into(), v.clone());
                }
            }
        }
        if let Some(Value::Array(embeds)) = b.get("embeds") {
            let embeds: Vec<Value> = embeds
                .iter()
                .cloned()
                .map(|mut e| {
                    if let Some(o) = e.as_object_mut() {
                        o.entry("type").or_insert(json!("rich"));
                    }
                    e
                })
                .collect();
            obj.insert("embeds".into(), Value::Array(embeds));
        }
    }
    obj.insert("edited_timestamp".into(), json!(now_timestamp()));
}

/// Fields shared by every interaction payload.
#[allow(clippy::too_many_arguments)]
pub fn interaction_base(
    world: &GuildFixture,
    kind: u8,
    id: u64,
    token: &str,
    place: &Place,
    user_id: u64,
    member_roles: Option<&[u64]>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), sid(id));
    m.insert("application_id".into(), sid(world.application_id));
    m.insert("type".into(), json!(kind));
    m.insert("token".into(), json!(token));
    m.insert("version".into(), json!(1));
    m.insert("locale".into(), json!("en-US"));
    m.insert("entitlements".into(), json!([]));
    m.insert("attachment_size_limit".into(), json!(ATTACHMENT_SIZE_LIMIT));
    m.insert("channel_id".into(), sid(place.channel_id));
    let guild = place.guild_id.and_then(|g| world.guild(g));
    match (place.guild_id, guild) {
        (Some(gid), Some(g)) => {
            let bot_roles = g.member(world.bot.id).map(|x| x.roles.clone()).unwrap_or_default();
            let roles = member_roles.map(<[u64]>::to_vec).unwrap_or_default();
            let mut member = member_json(
                world,
                &MemberFixture { user_id, roles: roles.clone(), nick: g.member(user_id).and_then(|x| x.nick.clone()) },
            );
            member["permissions"] = perm_str(world.member_permissions(g, &roles));
            m.insert("guild_id".into(), sid(gid));
            m.insert("guild_locale".into(), json!("en-US"));
            m.insert("member".into(), member);
            m.insert("app_permissions".into(), perm_str(world.member_permissions(g, &bot_roles)));
            m.insert("context".into(), json!(0));
            m.insert("authorizing_integration_owners".into(), json!({"0": sid(gid)}));
            m.insert("guild".into(), json!({"id": sid(gid), "locale": "en-US", "features": []}));
            if let Some(c) = g.channel(place.channel_id) {
                let mut ch = channel_json(c, gid, true);
                ch["permissions"] = perm_str(world.member_permissions(g, &roles));
                m.insert("channel".into(), ch);
            }
        }
        _ => {
            m.insert("user".into(), user_json_by_id(world, user_id));
            m.insert("app_permissions".into(), perm_str(bot_permissions()));
            m.insert("context".into(), json!(1));
            m.insert("authorizing_integration_owners".into(), json!({"0": "0"}));
            m.insert(
                "channel".into(),
                json!({"id": sid(place.channel_id), "type": 1, "flags": 0,
                       "recipients": [user_json_by_id(world, user_id)]}),
            );
        }
    }
    m
}

/// INTERACTION_CREATE `d` for a slash command (type 2, data.type 1).
#[allow(clippy::too_many_arguments)]
pub fn slash_command_json(
    world: &GuildFixture,
    id: u64,
    command_id: u64,
    place: &Place,
    user_id: u64,
    member_roles: Option<&[u64]>,
    name: &str,
    options: &[Value],
) -> Value {
    let token = interaction_token_for(id);
    let mut m = interaction_base(world, 2, id, &token, place, user_id, member_roles);
    m.insert(
        "data".into(),
        json!({
            "id": sid(command_id),
            "name": name,
            "type": 1,
            "options": options,
            "resolved": resolve_options(world, place, options),
            "guild_id": place.guild_id.map(sid),
        }),
    );
    Value::Object(m)
}

/// INTERACTION_CREATE `d` for a message context-menu command (type 2, data.type 3).
/// `target` is the target message (REST shape).
#[allow(clippy::too_many_arguments)]
pub fn message_command_json(
    world: &GuildFixture,
    id: u64,
    command_id: u64,
    place: &Place,
    user_id: u64,
    member_roles: Option<&[u64]>,
    name: &str,
    target: &Value,
) -> Value {
    let token = interaction_token_for(id);
    let target_id = target.get("id").cloned().unwrap_or(Value::Null);
    let mut m = interaction_base(world, 2, id, &token, place, user_id, member_roles);
    let mut messages = Map::new();
    if let Some(t) = target_id.as_str() {
        messages.insert(t.to_string(), target.clone());
    }
    m.insert(
        "data".into(),
        json!({
            "id": sid(command_id),
            "name": name,
            "type": 3,
            "target_id": target_id,
            "resolved": {"messages": messages},
            "guild_id": place.guild_id.map(sid),
        }),
    );
    Value::Object(m)
}

/// INTERACTION_CREATE `d` for a button click (type 3) on `message` (REST shape).
pub fn button_click_json(
    world: &GuildFixture,
    id: u64,
    place: &Place,
    user_id: u64,
    member_roles: Option<&[u64]>,
    custom_id: &str,
    message: &Value,
) -> Value {
    let token = interaction_token_for(id);
    let mut m = interaction_base(world, 3, id, &token, place, user_id, member_roles);
    m.insert("message".into(), message.clone());
    m.insert("data".into(), json!({"custom_id": custom_id, "component_type": 2}));
    Value::Object(m)
}

/// The interaction token the fake gives interaction `id` (appears in callback/webhook paths).
pub fn interaction_token_for(id: u64) -> String {
    format!("fake_interaction_token_{id}")
}

/// Resolved users/members/roles/channels for the options of a slash command.
pub fn resolve_options(world: &GuildFixture, place: &Place, options: &[Value]) -> Value {
    let mut users = Map::new();
    let mut members = Map::new();
    let mut roles = Map::new();
    let mut channels = Map::new();
    let guild = place.guild_id.and_then(|g| world.guild(g));
    fn walk(opts: &[Value], f: &mut dyn FnMut(u64, &str)) {
        for o in opts {
            let kind = o.get("type").and_then(Value::as_u64).unwrap_or(0);
            if let Some(sub) = o.get("options").and_then(Value::as_array) {
                walk(sub, f);
            }
            let id = o.get("value").and_then(Value::as_str).and_then(|s| s.parse::<u64>().ok());
            if let Some(id) = id {
                match kind {
                    6 => f(id, "user"),
                    7 => f(id, "channel"),
                    8 => f(id, "role"),
                    9 => f(id, "mentionable"),
                    _ => {}
                }
            }
        }
    }
    walk(options, &mut |id, what| match what {
        "user" | "mentionable" => {
            if let Some(r) = guild.and_then(|g| g.role(id)) {
                roles.insert(id.to_string(), role_json(r));
                return;
            }
            users.insert(id.to_string(), user_json_by_id(world, id));
            if let Some(m) = guild.and_then(|g| g.member(id)) {
                let mut pm = partial_member_json(&m.roles, m.nick.as_deref());
                pm["permissions"] = perm_str(world.member_permissions(guild.expect("guild"), &m.roles));
                members.insert(id.to_string(), pm);
            }
        }
        "role" => {
            if let Some(r) = guild.and_then(|g| g.role(id)) {
                roles.insert(id.to_string(), role_json(r));
            }
        }
        _ => {
            if let Some((g, c)) = world.guild_of_channel(id).and_then(|g| g.channel(id).map(|c| (g, c))) {
                let mut ch = channel_json(c, g.id, true);
                ch["permissions"] = perm_str(world.member_permissions(g, &[]));
                channels.insert(id.to_string(), ch);
            }
        }
    });
    let mut out = Map::new();
    for (k, v) in [("users", users), ("members", members), ("roles", roles), ("channels", channels)] {
        if !v.is_empty() {
            out.insert(k.into(), Value::Object(v));
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------
// Unit tests: every builder's output deserializes into serenity's type.
// ---------------------------------------------------------------------------------------------
