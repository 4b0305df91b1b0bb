-- The guild each action is for, so the outbox worker can take turns between guilds: a burst in one
-- server must not delay another's replies and alerts. NULL for rows written before this migration
-- (they share one turn) and for actions of no guild.
ALTER TABLE outbox ADD COLUMN guild_id INTEGER;
-- Each guild's pending actions in order, read a page per guild.
CREATE INDEX outbox_lane ON outbox(status, guild_id, id);
