-- The outbox worker reads only pending actions, by guild in id order (Store::pending_after,
-- pending_guilds). An index of pending rows alone stays as small as what waits, and a delivered
-- action leaves it, where the two full indexes it replaces kept every action ever recorded and
-- were both rewritten at each status change. (outbox_due served a query that is gone.)
DROP INDEX outbox_due;
DROP INDEX outbox_lane;
CREATE INDEX outbox_pending ON outbox(guild_id, id) WHERE status = 'pending';
