//! The store: what Bedside must not forget, in SQLite (embedded, `rusqlite` with the bundled
//! library). Flags, acknowledgements, per-channel activity, and the outbox of actions still to
//! carry out.
//!
//! Every decision is written in one transaction with the actions it causes, and a message id is
//! recorded as handled in that same transaction: a replayed or re-read message is recognised and
//! not acted on twice, and an action whose sending was interrupted (a crash, an outage) is still in
//! the outbox when Bedside comes back. Raw message content is never stored: flags keep redacted
//! excerpts. The one exception, the author's own text returned by DM when their message is
//! removed, sits in that DM's outbox payload until it is delivered, and is erased then.
//!
//! Migrations live in `migrations/` and are applied at open, tracked by SQLite's `user_version`.
//! Time is always an argument (seconds since the Unix epoch); nothing here reads a clock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::policy::{self, AckLedger, Feedback, Flag};

/// The schema, in order. A database at `user_version` N has had the first N applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_post_counts.sql"),
    include_str!("../migrations/0003_outbox_guild.sql"),
    include_str!("../migrations/0004_outbox_pending_index.sql"),
    include_str!("../migrations/0005_erasure_owed.sql"),
];

/// Where the database is when `DATABASE_URL` is not set.
pub const DEFAULT_URL: &str = "sqlite://data/bedside.db";

/// Something went wrong with the database, said so a practice manager can act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL `{0}` is not a SQLite URL (expected sqlite://PATH, e.g. {DEFAULT_URL})")]
    Url(String),
    #[error("{path}: cannot create or open the database: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path}: the file is not a Bedside database or is corrupt ({detail}); move it aside to start afresh")]
    Corrupt { path: String, detail: String },
    #[error("{path}: the database is locked by another process (is another Bedside running?)")]
    Locked { path: String },
    #[error("{path}: the database was written by a newer Bedside (schema {found}, this one knows {known})")]
    TooNew { path: String, found: i64, known: i64 },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The path in a `DATABASE_URL` (`sqlite://PATH`, `sqlite:PATH`, or a bare path).
pub fn database_path(url: &str) -> Result<PathBuf, StoreError> {
    let url = url.trim();
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::Url(url.to_string()));
    }
    Ok(PathBuf::from(path))
}

/// A flag as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredFlag {
    pub id: i64,
    pub message_id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub rules: Vec<String>,
    pub status: String,
    pub excerpt: String,
    pub alert: Option<(u64, u64)>,
    pub created_at: u64,
}

/// An action waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub id: i64,
    /// The guild the action is for (`None`: a direct message's).
    pub guild: Option<u64>,
    pub kind: String,
    pub message_id: Option<u64>,
    pub payload: String,
    pub attempts: u32,
    /// Not to be tried before this time (seconds since the Unix epoch): later after a failure.
    pub next_attempt_at: u64,
}

/// An action to record with the decision that causes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAction {
    pub kind: String,
    pub payload: String,
}

/// What became of feedback given to [`Store::record_feedback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackRecord {
    /// Recorded, with its actions.
    Recorded,
    /// Handled before (a replay, or a re-read after downtime): nothing written.
    AlreadyHandled,
    /// It carries a reply, but the author was answered in that channel within the cooldown since
    /// it was decided: nothing written. Record it again without its reply.
    ReplyTaken,
}

/// What a purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub flags: usize,
    pub acknowledgements: usize,
    pub handled: usize,
    pub outbox: usize,
    /// Actions still pending after `retention_days`: given up (marked failed), payloads erased.
    pub given_up: usize,
}

/// Why an action still pending after the retention period is given up (its `last_error`).
pub const GIVEN_UP: &str = "given up: still pending after retention_days";

/// How many pages the WAL may hold before a commit checkpoints it (see `prepare`).
const CHECKPOINT_PAGES: i64 = 250;

/// The store. Cheap to share behind an `Arc`; calls are short and serialised.
pub struct Store {
    conn: Mutex<Connection>,
    path: String,
}

fn to_i64(v: u64) -> i64 {
    v as i64
}

fn to_u64(v: i64) -> u64 {
    v as u64
}

impl Store {
    /// Opens (creating the folder and file if needed), checks and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Open { path: shown.clone(), source })?;
        }
        let conn = Connection::open(path).map_err(|e| classify(&shown, e))?;
        Store::prepare(conn, shown)
    }

    /// A store that lives only in memory, for tests and `--no-store` trials.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::prepare(Connection::open_in_memory()?, ":memory:".to_string())
    }

    fn prepare(conn: Connection, path: String) -> Result<Store, StoreError> {
        let err = |e| classify(&path, e);
        conn.busy_timeout(std::time::Duration::from_millis(500)).map_err(err)?;
        // WAL with synchronous=NORMAL: a commit does not wait for the disk (a flood of messages was
        // fsync-bound with a rollback journal), and readers such as `bedside report` never block
        // the bot. Privacy: erased rows are overwritten (secure_delete), and when the one piece of
        // raw text Bedside ever holds (a removed message, in its DM) is erased, the WAL is
        // checkpointed and truncated so no older copy of that page survives in it.
        conn.pragma_update(None, "secure_delete", "ON").map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        // SQLite copies the WAL into the database (a checkpoint) inside the commit that takes it past
        // this many pages, holding the store's lock for as long as the copy and its sync take.
        // SQLite's default is 1,000 pages: 2-3 ms of CPU and 4-10 ms in all, which a quiet guild's
        // message waited behind in a flood. A quarter of that keeps each checkpoint short.
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES).map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        // 512 KB of page cache instead of SQLite's 2 MB: the bot's writes touch the newest pages,
        // and anything older is a read from the OS's file cache away. (Peak memory under a flood.)
        conn.pragma_update(None, "cache_size", -512).map_err(err)?;
        // Room for every statement the store runs (see `exec`), so none is compiled twice.
        conn.set_prepared_statement_cache_capacity(64);
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(err)?;
        if check != "ok" {
            return Err(StoreError::Corrupt { path, detail: check });
        }
        let store = Store { conn: Mutex::new(conn), path };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll back),
        // so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let version: i64 =
            conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| classify(&self.path, e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(|e| classify(&self.path, e))?;
            tx.execute_batch(sql).map_err(|e| classify(&self.path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit().map_err(|e| classify(&self.path, e))?;
        }
        // Take the write lock once now: a database another process holds locked fails at start,
        // with a clear error, rather than mid-flow. (Readers such as `bedside report` can share it
        // with a running bot; two writers never act twice, since every decision claims its id.)
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;").map_err(|e| classify(&self.path, e))?;
        Ok(())
    }

    /// Whether a message was already decided about.
    pub fn is_handled(&self, message: u64) -> Result<bool, StoreError> {
        let found: Option<i64> =
            one(&self.conn(), "SELECT 1 FROM handled WHERE message_id = ?1", [to_i64(message)], |r| r.get(0))
                .optional()?;
        Ok(found.is_some())
    }

    /// Records that a message needed nothing. False if it was already handled.
    pub fn mark_handled(&self, message: u64, channel: u64, now: u64) -> Result<bool, StoreError> {
        claim(&self.conn(), message, channel, now)
    }

    /// Records a flag and the actions it causes, in one transaction. False (and nothing written)
    /// if the message was already handled.
    pub fn record_flag(&self, flag: &Flag, actions: &[NewAction], now: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !claim(&tx, flag.message, flag.channel, now)? {
            return Ok(false);
        }
        let labels: Vec<&str> = flag.labels.iter().map(|l| l.as_str()).collect();
        let status = if flag.remove { "removed" } else { "open" };
        exec(
            &tx,
            "INSERT INTO flags (message_id, guild_id, channel_id, author_id, labels, rules, severity, excerpt, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT(message_id) DO UPDATE SET labels = ?5, rules = ?6, severity = ?7, excerpt = ?8, status = ?9, updated_at = ?10, resolved_at = NULL",
            params![
                to_i64(flag.message),
                flag.guild.map(to_i64),
                to_i64(flag.channel),
                to_i64(flag.author),
                labels.join(","),
                flag.rule_ids().join(","),
                flag.severity.as_str(),
                flag.excerpt,
                status,
                to_i64(now)
            ],
        )?;
        enqueue(&tx, flag.guild, Some(flag.message), actions, now)?;
        tx.commit()?;
        Ok(true)
    }

    /// Records an edit's new flag for a message handled before (edits are decided again).
    pub fn record_reflag(&self, flag: &Flag, actions: &[NewAction], now: u64) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        exec(&tx, "DELETE FROM outbox WHERE message_id = ?1 AND status != 'pending'", [to_i64(flag.message)])?;
        exec(&tx, "DELETE FROM handled WHERE message_id = ?1", [to_i64(flag.message)])?;
        tx.commit()?;
        drop(conn);
        self.record_flag(flag, actions, now).map(|_| ())
    }

    /// Records patient feedback and the actions it causes (reply, share), in one transaction.
    ///
    /// A reply is recorded only if the author is not in the cooldown (`cooldown` seconds, by
    /// [`policy::cooling`]) for another reply in that channel. The decision read the cooldown's
    /// ledger earlier, and several messages are decided at once, so two from one author in a burst
    /// could both have found it empty; this check and the insert are one transaction.
    pub fn record_feedback(
        &self,
        f: &Feedback,
        actions: &[NewAction],
        cooldown: u64,
        now: u64,
    ) -> Result<FeedbackRecord, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if f.reply.is_some() && policy::cooling(last_reply(&tx, f.author, f.channel, Some(f.message))?, now, cooldown) {
            return Ok(FeedbackRecord::ReplyTaken);
        }
        if !claim(&tx, f.message, f.channel, now)? {
            return Ok(FeedbackRecord::AlreadyHandled);
        }
        exec(
            &tx,
            "INSERT OR IGNORE INTO acknowledgements (message_id, guild_id, channel_id, author_id, kind, replied, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                to_i64(f.message),
                f.guild.map(to_i64),
                to_i64(f.channel),
                to_i64(f.author),
                f.kind.as_str(),
                f.reply.is_some(),
                to_i64(now)
            ],
        )?;
        enqueue(&tx, f.guild, Some(f.message), actions, now)?;
        tx.commit()?;
        Ok(FeedbackRecord::Recorded)
    }

    /// The flag recorded for a message, if any.
    pub fn flag(&self, message: u64) -> Result<Option<StoredFlag>, StoreError> {
        Ok(one(
            &self.conn(),
            "SELECT id, message_id, channel_id, author_id, rules, status, excerpt, alert_channel_id, alert_message_id, created_at
             FROM flags WHERE message_id = ?1",
            [to_i64(message)],
            |r| {
                let alert: (Option<i64>, Option<i64>) = (r.get(7)?, r.get(8)?);
                Ok(StoredFlag {
                    id: r.get(0)?,
                    message_id: to_u64(r.get(1)?),
                    channel_id: to_u64(r.get(2)?),
                    author_id: to_u64(r.get(3)?),
                    rules: sorted_rules(&r.get::<_, String>(4)?),
                    status: r.get(5)?,
                    excerpt: r.get(6)?,
                    alert: match alert {
                        (Some(c), Some(m)) => Some((to_u64(c), to_u64(m))),
                        _ => None,
                    },
                    created_at: to_u64(r.get(9)?),
                })
            },
        )
        .optional()?)
    }

    /// Remembers where a flag's alert was posted, so an edit can update it.
    pub fn set_alert(&self, message: u64, channel: u64, alert: u64) -> Result<(), StoreError> {
        exec(
            &self.conn(),
            "UPDATE flags SET alert_channel_id = ?2, alert_message_id = ?3 WHERE message_id = ?1",
            params![to_i64(message), to_i64(channel), to_i64(alert)],
        )?;
        Ok(())
    }

    /// Moves a flag to `status` (resolved_by_edit, dismissed, confirmed).
    pub fn set_flag_status(&self, message: u64, status: &str, now: u64) -> Result<bool, StoreError> {
        let n = exec(
            &self.conn(),
            "UPDATE flags SET status = ?2, updated_at = ?3,
                 resolved_at = CASE WHEN ?2 IN ('resolved_by_edit', 'dismissed') THEN ?3 ELSE resolved_at END
             WHERE message_id = ?1",
            params![to_i64(message), status, to_i64(now)],
        )?;
        Ok(n == 1)
    }

    /// Records a dismissal ("not a problem") of every rule of a flag: the signal for tuning.
    pub fn dismiss(&self, message: u64, by_author: bool, now: u64) -> Result<bool, StoreError> {
        let Some(flag) = self.flag(message)? else { return Ok(false) };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for rule in &flag.rules {
            exec(
                &tx,
                "INSERT INTO dismissals (flag_id, rule, by, at) VALUES (?1, ?2, ?3, ?4)",
                params![flag.id, rule, if by_author { "author" } else { "staff" }, to_i64(now)],
            )?;
        }
        exec(
            &tx,
            "UPDATE flags SET status = 'dismissed', updated_at = ?2, resolved_at = ?2 WHERE id = ?1",
            params![flag.id, to_i64(now)],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Adds actions for a message already handled (a resolved alert, a reminder).
    pub fn enqueue(
        &self,
        guild: Option<u64>,
        message: Option<u64>,
        actions: &[NewAction],
        now: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        enqueue(&tx, guild, message, actions, now)?;
        tx.commit()?;
        Ok(())
    }

    /// The guilds with pending actions (`None`: actions of no guild).
    pub fn pending_guilds(&self) -> Result<Vec<Option<u64>>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT DISTINCT guild_id FROM outbox WHERE status = 'pending'")?;
        let guilds = stmt.query_map([], |r| Ok(r.get::<_, Option<i64>>(0)?.map(to_u64)))?;
        Ok(guilds.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` of `guild`'s pending actions with an id above `after`, oldest first, due or
    /// not: the outbox worker reads each action once, in the order it was recorded.
    pub fn pending_after(&self, guild: Option<u64>, after: i64, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PENDING_COLUMNS} FROM outbox WHERE status = 'pending' AND guild_id IS ?1 AND id > ?2
             ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![guild.map(to_i64), after, limit as i64], pending_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Those of these actions still pending, oldest first, as they are now.
    pub fn pending_rows(&self, ids: &[i64]) -> Result<Vec<Pending>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {PENDING_COLUMNS} FROM outbox WHERE id = ?1 AND status = 'pending'"))?;
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = stmt.query_row([id], pending_row).optional()? {
                rows.push(row);
            }
        }
        rows.sort_by_key(|p| p.id);
        Ok(rows)
    }

    /// How many actions are still pending.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        Ok(one(&self.conn(), "SELECT COUNT(*) FROM outbox WHERE status = 'pending'", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// An action was carried out: marked, and its payload erased (it may hold the author's text).
    pub fn mark_sent(&self, id: i64, now: u64) -> Result<(), StoreError> {
        let conn = self.conn();
        let held_text = holds_author_text(&conn, id)?;
        exec(
            &conn,
            "UPDATE outbox SET status = 'sent', payload = '', attempts = attempts + 1, done_at = ?2 WHERE id = ?1",
            params![id, to_i64(now)],
        )?;
        if held_text {
            forget_old_pages(&conn, now)?;
        }
        Ok(())
    }

    /// An action failed for now: tried again at `next_at`.
    pub fn mark_retry(&self, id: i64, error: &str, next_at: u64) -> Result<(), StoreError> {
        exec(
            &self.conn(),
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![id, error, to_i64(next_at)],
        )?;
        Ok(())
    }

    /// An action can never succeed (its fallback was taken): marked, payload erased, not retried.
    pub fn mark_failed(&self, id: i64, error: &str, now: u64) -> Result<(), StoreError> {
        let conn = self.conn();
        let held_text = holds_author_text(&conn, id)?;
        exec(
            &conn,
            "UPDATE outbox SET status = 'failed', payload = '', attempts = attempts + 1, last_error = ?2, done_at = ?3 WHERE id = ?1",
            params![id, error, to_i64(now)],
        )?;
        if held_text {
            forget_old_pages(&conn, now)?;
        }
        Ok(())
    }

    /// The status and last error of a message's action of one kind.
    pub fn action_state(&self, kind: &str, message: u64) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(one(
            &self.conn(),
            "SELECT status, last_error FROM outbox WHERE kind = ?1 AND message_id = ?2",
            params![kind, to_i64(message)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
    }

    /// Notes a post in a channel (for stagnation, catch-up and reports).
    pub fn note_post(
        &self,
        guild: Option<u64>,
        channel: u64,
        message: u64,
        staff: bool,
        at: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        Store::count_post(&tx, channel, staff, at)?;
        exec(
            &tx,
            "INSERT INTO channel_activity (channel_id, guild_id, last_post_at, last_staff_post_at, last_message_id)
             VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN ?3 END, ?5)
             ON CONFLICT(channel_id) DO UPDATE SET
                 guild_id = COALESCE(?2, guild_id),
                 last_post_at = MAX(COALESCE(last_post_at, 0), ?3),
                 last_staff_post_at = CASE WHEN ?4 THEN MAX(COALESCE(last_staff_post_at, 0), ?3) ELSE last_staff_post_at END,
                 last_message_id = MAX(COALESCE(last_message_id, 0), ?5)",
            params![to_i64(channel), guild.map(to_i64), to_i64(at), staff, to_i64(message)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Counts a post for reports (by day; staff or patient).
    fn count_post(tx: &rusqlite::Transaction<'_>, channel: u64, staff: bool, at: u64) -> Result<(), StoreError> {
        exec(
            tx,
            "INSERT INTO post_counts (channel_id, day, staff, patient) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(channel_id, day) DO UPDATE SET staff = staff + ?3, patient = patient + ?4",
            params![to_i64(channel), to_i64(at / 86_400), staff as i64, (!staff) as i64],
        )?;
        Ok(())
    }

    /// The newest message handled in a channel: catch-up reads after it.
    pub fn last_message(&self, channel: u64) -> Result<Option<u64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT last_message_id FROM channel_activity WHERE channel_id = ?1", [to_i64(channel)], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten()
            .map(to_u64))
    }

    /// A channel's activity: (last staff post, last reminder).
    pub fn activity(&self, channel: u64) -> Result<(Option<u64>, Option<u64>), StoreError> {
        Ok(one(
            &self.conn(),
            "SELECT last_staff_post_at, last_reminder_at FROM channel_activity WHERE channel_id = ?1",
            [to_i64(channel)],
            |r| Ok((r.get::<_, Option<i64>>(0)?.map(to_u64), r.get::<_, Option<i64>>(1)?.map(to_u64))),
        )
        .optional()?
        .unwrap_or((None, None)))
    }

    /// When each tip was last suggested.
    pub fn tips_used(&self) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT tip_id, MAX(used_at) FROM tips_used GROUP BY tip_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a stagnation reminder with its action: the channel's reminder time and the tip's use.
    pub fn record_reminder(
        &self,
        guild: u64,
        channel: u64,
        tip: &str,
        actions: &[NewAction],
        now: u64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        exec(
            &tx,
            "INSERT INTO channel_activity (channel_id, last_reminder_at) VALUES (?1, ?2)
             ON CONFLICT(channel_id) DO UPDATE SET last_reminder_at = ?2",
            params![to_i64(channel), to_i64(now)],
        )?;
        exec(
            &tx,
            "INSERT INTO tips_used (tip_id, channel_id, used_at) VALUES (?1, ?2, ?3)",
            params![tip, to_i64(channel), to_i64(now)],
        )?;
        enqueue(&tx, Some(guild), None, actions, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes flags, acknowledgements, handled ids and outbox rows finished before `cutoff`
    /// (retention). An action still pending that was recorded before `cutoff` is given up: marked
    /// failed ([`GIVEN_UP`]) with its payload erased, and kept as a finished row for another retention
    /// period. (A removal DM that never gets through must not keep the author's text for ever.)
    pub fn purge(&self, cutoff: u64, now: u64) -> Result<Purged, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let c = to_i64(cutoff);
        let given_up = tx.execute(
            "UPDATE outbox SET status = 'failed', payload = '', last_error = ?2, done_at = ?3
             WHERE status = 'pending' AND created_at < ?1",
            params![c, GIVEN_UP, to_i64(now)],
        )?;
        let purged = Purged {
            flags: tx.execute("DELETE FROM flags WHERE created_at < ?1", [c])?,
            acknowledgements: tx.execute("DELETE FROM acknowledgements WHERE created_at < ?1", [c])?,
            handled: tx.execute("DELETE FROM handled WHERE handled_at < ?1", [c])?,
            outbox: tx
                .execute("DELETE FROM outbox WHERE status != 'pending' AND COALESCE(done_at, created_at) < ?1", [c])?,
            given_up,
        };
        tx.execute("DELETE FROM tips_used WHERE used_at < ?1", [c])?;
        tx.commit()?;
        if given_up > 0 {
            forget_old_pages(&conn, now)?;
        }
        Ok(purged)
    }

    /// Whether an erasure's checkpoint could not truncate the WAL and is still to be retried.
    pub fn erasure_owed(&self) -> Result<bool, StoreError> {
        Ok(one(&self.conn(), "SELECT COUNT(*) FROM erasure_owed", [], |r| r.get::<_, i64>(0))? > 0)
    }

    /// Tries an owed erasure's checkpoint again; `true` when nothing is owed any more.
    pub fn retry_erasure(&self, now: u64) -> Result<bool, StoreError> {
        let conn = self.conn();
        let owed: i64 = one(&conn, "SELECT COUNT(*) FROM erasure_owed", [], |r| r.get(0))?;
        if owed == 0 {
            return Ok(true);
        }
        forget_old_pages(&conn, now)
    }

    /// What a report of `since ..= now` is built from.
    pub fn report_data(&self, since: u64, stale_after: u64) -> Result<crate::report::ReportData, StoreError> {
        use crate::report::{FeedbackRow, FlagRow, ReportData};
        let conn = self.conn();
        let (staff_posts, patient_posts): (i64, i64) = one(
            &conn,
            "SELECT COALESCE(SUM(staff), 0), COALESCE(SUM(patient), 0) FROM post_counts WHERE day >= ?1",
            [to_i64(since / 86_400)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let split = |s: String| s.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let mut stmt =
            conn.prepare("SELECT created_at, labels, rules, status, resolved_at FROM flags WHERE created_at >= ?1")?;
        let flags = stmt
            .query_map([to_i64(since)], |r| {
                Ok(FlagRow {
                    created_at: to_u64(r.get(0)?),
                    labels: split(r.get(1)?),
                    rules: sorted_rules(&r.get::<_, String>(2)?),
                    status: r.get(3)?,
                    resolved_at: r.get::<_, Option<i64>>(4)?.map(to_u64),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT d.rule, COUNT(DISTINCT d.flag_id) FROM dismissals d JOIN flags f ON f.id = d.flag_id
             WHERE f.created_at >= ?1 GROUP BY d.rule",
        )?;
        let dismissals = stmt
            .query_map([to_i64(since)], |r| Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?))))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare("SELECT created_at, kind, replied FROM acknowledgements WHERE created_at >= ?1")?;
        let feedback = stmt
            .query_map([to_i64(since)], |r| {
                Ok(FeedbackRow { created_at: to_u64(r.get(0)?), kind: r.get(1)?, replied: r.get(2)? })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare("SELECT channel_id, last_staff_post_at FROM channel_activity WHERE last_post_at IS NOT NULL ORDER BY channel_id")?;
        let channels = stmt
            .query_map([], |r| Ok((to_u64(r.get(0)?), r.get::<_, Option<i64>>(1)?.map(to_u64))))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ReportData {
            since,
            staff_posts: staff_posts as u64,
            patient_posts: patient_posts as u64,
            flags,
            dismissals,
            feedback,
            channels,
            stale_after,
        })
    }

    /// The database file's path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl AckLedger for Store {
    fn last_acknowledged(&self, author: u64, channel: u64) -> Option<u64> {
        // On an error the cooldown is not known here; `record_feedback` checks it again inside the
        // transaction that records the reply, so a second reply is still refused there.
        last_reply(&self.conn(), author, channel, None)
            .inspect_err(|e| tracing::error!(author, channel, error = %e, "could not read the cooldown's ledger"))
            .ok()
            .flatten()
    }
}

/// Runs a statement from the connection's cache of prepared statements: the store's statements are
/// few and run for every message, and compiling one each time was a sixth of the store's time
/// (perf, `cargo bench --bench store`).
fn exec<P: rusqlite::Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// The one row of a query, from the cache of prepared statements (see [`exec`]).
fn one<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, row)
}

/// The columns [`pending_row`] reads.
const PENDING_COLUMNS: &str = "id, guild_id, kind, message_id, payload, attempts, next_attempt_at";

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pending> {
    Ok(Pending {
        id: r.get(0)?,
        guild: r.get::<_, Option<i64>>(1)?.map(to_u64),
        kind: r.get(2)?,
        message_id: r.get::<_, Option<i64>>(3)?.map(to_u64),
        payload: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: to_u64(r.get(6)?),
    })
}

/// A stored rule list, each rule once and sorted (rows written before rules were sorted may not be).
fn sorted_rules(stored: &str) -> Vec<String> {
    let rules: std::collections::BTreeSet<&str> = stored.split(',').filter(|s| !s.is_empty()).collect();
    rules.into_iter().map(str::to_string).collect()
}

/// Whether an outbox entry carries an author's own text (a removed message's DM).
fn holds_author_text(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    let payload: Option<String> =
        one(conn, "SELECT payload FROM outbox WHERE id = ?1 AND kind = 'dm'", [id], |r| r.get(0)).optional()?;
    Ok(payload.is_some_and(|p| !p.is_empty() && !p.contains("\"if_removed\":null")))
}

/// Checkpoints the WAL into the database and truncates it, so pages that held erased text are gone.
/// SQLite answers "busy" when a reader still uses an older snapshot, so the WAL cannot be reset
/// (its busy handler has by then waited the busy timeout for the reader): the erasure is then
/// recorded as owed (`erasure_owed`) and [`Store::retry_erasure`] tries again until it truncates.
/// `true` when the WAL was truncated (and nothing is owed any more).
fn forget_old_pages(conn: &Connection, now: u64) -> Result<bool, StoreError> {
    // Cleared before the checkpoint, so a truncated WAL is left empty; put back if it is busy.
    let owed_since: Option<i64> = one(conn, "SELECT since FROM erasure_owed", [], |r| r.get(0)).optional()?;
    if owed_since.is_some() {
        exec(conn, "DELETE FROM erasure_owed", [])?;
    }
    // (busy, frames in the WAL, frames checkpointed); an in-memory database answers (0, -1, -1).
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy == 0 {
        return Ok(true);
    }
    exec(conn, "INSERT OR IGNORE INTO erasure_owed (id, since) VALUES (1, ?1)", [owed_since.unwrap_or(to_i64(now))])?;
    Ok(false)
}

/// Claims a message id for this decision (alone, or inside a transaction that records it); false
/// if another decision already has it.
fn claim(conn: &Connection, message: u64, channel: u64, now: u64) -> Result<bool, StoreError> {
    let n = exec(
        conn,
        "INSERT OR IGNORE INTO handled (message_id, channel_id, handled_at) VALUES (?1, ?2, ?3)",
        params![to_i64(message), to_i64(channel), to_i64(now)],
    )?;
    Ok(n == 1)
}

/// When `author` last got a public reply in `channel` (seconds since the epoch), leaving out the
/// reply to message `except`: the cooldown's ledger.
fn last_reply(conn: &Connection, author: u64, channel: u64, except: Option<u64>) -> rusqlite::Result<Option<u64>> {
    let last: Option<i64> = one(
        conn,
        "SELECT MAX(created_at) FROM acknowledgements
         WHERE author_id = ?1 AND channel_id = ?2 AND replied = 1 AND (?3 IS NULL OR message_id != ?3)",
        params![to_i64(author), to_i64(channel), except.map(to_i64)],
        |r| r.get(0),
    )?;
    Ok(last.map(to_u64))
}

/// Adds actions to the outbox inside a caller's transaction. An action already recorded for the
/// same message is ignored (`UNIQUE (kind, message_id)`); actions of no message (reminders) never
/// collide, as SQLite's NULLs are distinct.
fn enqueue(
    tx: &rusqlite::Transaction<'_>,
    guild: Option<u64>,
    message: Option<u64>,
    actions: &[NewAction],
    now: u64,
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (kind, guild_id, message_id, payload, status, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
    )?;
    for a in actions {
        insert.execute(params![a.kind, guild.map(to_i64), message.map(to_i64), a.payload, to_i64(now)])?;
    }
    Ok(())
}

/// Turns SQLite's codes into errors that say what to do.
fn classify(path: &str, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path: path.to_string() },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path: path.to_string(), detail: e.to_string() }
        }
        _ => StoreError::Sql(e),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::detect::{FeedbackKind, Label, Severity};
    use crate::policy::NoReply;

    const NOW: u64 = 1_790_000_000;
    const COOLDOWN: u64 = 86_400;

    fn flag(message: u64) -> Flag {
        flag_in(Some(1), message)
    }

    /// A high-severity phone-number flag on a message of `guild`, as the bot records one. Shared
    /// with the outbox queue's tests.
    pub(crate) fn flag_in(guild: Option<u64>, message: u64) -> Flag {
        Flag {
            message,
            channel: 7,
            guild,
            author: 99,
            link: String::new(),
            labels: vec![Label::PatientDetails],
            points: vec![crate::policy::Point {
                label: Label::PatientDetails,
                rule: "id.phone".into(),
                reason: "r".into(),
                severity: Severity::High,
                fix: None,
            }],
            severity: Severity::High,
            excerpt: "call [name] at [phone]".into(),
            remove: false,
            unverified: false,
        }
    }

    fn dm(text: &str) -> NewAction {
        NewAction { kind: "dm".into(), payload: text.into() }
    }

    /// Guild 1's pending actions, oldest first (what the outbox worker reads first).
    fn pending(store: &Store) -> Vec<Pending> {
        store.pending_after(Some(1), 0, 100).expect("read")
    }

    #[test]
    fn pending_actions_are_read_by_guild_in_order_above_an_id() {
        let store = Store::open_in_memory().expect("store");
        let alert = || NewAction { kind: "alert".into(), payload: "{}".into() };
        for m in 1..=3 {
            store.record_flag(&flag(m), &[dm("{}"), alert()], NOW).expect("write");
        }
        store.record_flag(&Flag { guild: Some(2), ..flag(100) }, &[dm("{}")], NOW).expect("write");
        store.record_flag(&Flag { guild: None, ..flag(200) }, &[dm("{}")], NOW).expect("write");
        let all = pending(&store);
        let order: Vec<(Option<u64>, &str)> = all.iter().map(|p| (p.message_id, p.kind.as_str())).collect();
        assert_eq!(
            order,
            [
                (Some(1), "dm"),
                (Some(1), "alert"),
                (Some(2), "dm"),
                (Some(2), "alert"),
                (Some(3), "dm"),
                (Some(3), "alert")
            ]
        );
        assert!(all.iter().all(|p| p.guild == Some(1) && p.next_attempt_at == NOW && p.attempts == 0));
        // A page, then the rest above it.
        let page = store.pending_after(Some(1), 0, 2).expect("page");
        let rest = store.pending_after(Some(1), page[1].id, 100).expect("rest");
        assert_eq!([page, rest].concat(), all);
        // Other guilds, and actions of no guild, apart.
        assert_eq!(store.pending_after(Some(2), 0, 100).expect("read").len(), 1);
        assert_eq!(store.pending_after(None, 0, 100).expect("read")[0].message_id, Some(200));
        let mut guilds = store.pending_guilds().expect("guilds");
        guilds.sort();
        assert_eq!(guilds, [None, Some(1), Some(2)]);
        // Read back by id: only those still pending, in order.
        store.mark_sent(all[0].id, NOW).expect("sent");
        let again = store.pending_rows(&[all[3].id, all[0].id, all[1].id, 9999]).expect("read");
        assert_eq!(again, [all[1].clone(), all[3].clone()]);
    }

    #[test]
    fn urls() {
        assert_eq!(database_path("sqlite://data/bedside.db").expect("url"), PathBuf::from("data/bedside.db"));
        assert_eq!(database_path("sqlite:///var/lib/b.db").expect("url"), PathBuf::from("/var/lib/b.db"));
        assert_eq!(database_path("bedside.db").expect("path"), PathBuf::from("bedside.db"));
        assert!(matches!(database_path("postgres://x/y"), Err(StoreError::Url(_))));
        assert!(matches!(database_path(""), Err(StoreError::Url(_))));
    }

    #[test]
    fn a_flag_is_recorded_once_with_its_actions() {
        let store = Store::open_in_memory().expect("store");
        assert!(
            store
                .record_flag(&flag(42), &[dm("{}"), NewAction { kind: "alert".into(), payload: "{}".into() }], NOW)
                .expect("write")
        );
        assert!(!store.record_flag(&flag(42), &[dm("{}")], NOW + 1).expect("write"), "a replay is recognised");
        assert!(store.is_handled(42).expect("read"));
        let due = pending(&store);
        assert_eq!(due.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(), ["dm", "alert"]);
        let stored = store.flag(42).expect("read").expect("flag");
        assert_eq!((stored.status.as_str(), stored.rules.clone()), ("open", vec!["id.phone".to_string()]));
        assert_eq!(stored.excerpt, "call [name] at [phone]");
    }

    #[test]
    fn the_outbox_retries_marks_and_erases_payloads() {
        let store = Store::open_in_memory().expect("store");
        store.record_flag(&flag(1), &[dm("{\"text\":\"the author's own words\"}")], NOW).expect("write");
        let p = pending(&store).remove(0);
        store.mark_retry(p.id, "500", NOW + 30).expect("retry");
        let again = store.pending_rows(&[p.id]).expect("read").remove(0);
        assert_eq!((again.attempts, again.next_attempt_at), (1, NOW + 30), "tried again, not before its time");
        store.mark_sent(again.id, NOW + 31).expect("sent");
        assert!(pending(&store).is_empty());
        assert_eq!(store.pending_count().expect("count"), 0);
        let payload: String = store.conn().query_row("SELECT payload FROM outbox", [], |r| r.get(0)).expect("row");
        assert_eq!(payload, "", "a delivered DM keeps no text");
        assert_eq!(store.action_state("dm", 1).expect("state"), Some(("sent".into(), Some("500".into()))));
    }

    #[test]
    fn failed_actions_are_final_and_keep_nothing() {
        let store = Store::open_in_memory().expect("store");
        store.record_flag(&flag(1), &[dm("{\"text\":\"words\"}")], NOW).expect("write");
        let p = pending(&store).remove(0);
        store.mark_failed(p.id, "dms_closed", NOW).expect("failed");
        assert!(pending(&store).is_empty());
        assert_eq!(store.action_state("dm", 1).expect("state"), Some(("failed".into(), Some("dms_closed".into()))));
    }

    #[test]
    fn the_cooldown_ledger_counts_public_replies_only() {
        let store = Store::open_in_memory().expect("store");
        let mut f = Feedback {
            message: 5,
            channel: 7,
            guild: Some(1),
            author: 99,
            link: String::new(),
            kind: FeedbackKind::Praise,
            excerpt: "x".into(),
            reply: None,
            why_no_reply: None,
        };
        store.record_feedback(&f, &[], COOLDOWN, NOW).expect("write");
        assert_eq!(store.last_acknowledged(99, 7), None, "shared only, no reply");
        f.message = 6;
        f.reply = Some("Thank you!".into());
        store.record_feedback(&f, &[], COOLDOWN, NOW + 5).expect("write");
        assert_eq!(store.last_acknowledged(99, 7), Some(NOW + 5));
        assert_eq!(store.last_acknowledged(99, 8), None);
    }

    #[test]
    fn a_second_reply_within_the_cooldown_is_refused_as_it_is_recorded() {
        let store = Store::open_in_memory().expect("store");
        let reply = |message: u64, channel: u64| Feedback {
            message,
            channel,
            guild: Some(1),
            author: 99,
            link: String::new(),
            kind: FeedbackKind::Praise,
            excerpt: "x".into(),
            reply: Some("Thank you!".into()),
            why_no_reply: None,
        };
        let record =
            |f: &Feedback, cooldown: u64, now: u64| store.record_feedback(f, &[], cooldown, now).expect("write");
        // Two messages decided at once, both with a reply: the first recorded takes it.
        assert_eq!(record(&reply(5, 7), COOLDOWN, NOW), FeedbackRecord::Recorded);
        assert_eq!(record(&reply(6, 7), COOLDOWN, NOW + 1), FeedbackRecord::ReplyTaken);
        assert!(!store.is_handled(6).expect("read"), "nothing of it was written");
        // Without its reply it is recorded; another channel, or after the cooldown, may reply.
        let quiet = Feedback { reply: None, why_no_reply: Some(NoReply::Cooldown), ..reply(6, 7) };
        assert_eq!(record(&quiet, COOLDOWN, NOW + 1), FeedbackRecord::Recorded);
        assert_eq!(record(&reply(7, 8), COOLDOWN, NOW + 1), FeedbackRecord::Recorded);
        let later = NOW + COOLDOWN;
        assert_eq!(record(&reply(8, 7), COOLDOWN, later), FeedbackRecord::Recorded);
        // A replay of a recorded message is still recognised as one.
        assert_eq!(record(&reply(5, 7), 0, later), FeedbackRecord::AlreadyHandled);
        // No cooldown: every message may have its reply, even when another's was recorded with a
        // clock read later than this one's.
        assert_eq!(record(&reply(9, 7), 0, later + 5), FeedbackRecord::Recorded);
        assert_eq!(record(&reply(10, 7), 0, later + 4), FeedbackRecord::Recorded);
        // With one, such a reply counts.
        assert_eq!(record(&reply(11, 7), COOLDOWN, later + 3), FeedbackRecord::ReplyTaken);
    }

    #[test]
    fn purge_removes_what_is_old_and_nothing_else() {
        let store = Store::open_in_memory().expect("store");
        store.record_flag(&flag(1), &[dm("{}")], NOW - 200 * 86400).expect("old");
        let p = pending(&store).remove(0);
        store.mark_sent(p.id, NOW - 200 * 86400).expect("sent");
        store.record_flag(&flag(2), &[dm("{}")], NOW - 200 * 86400).expect("old, still pending");
        store.record_flag(&flag(3), &[], NOW).expect("new");
        store.record_flag(&flag(4), &[dm("{}")], NOW - 10 * 86400).expect("recent, pending");
        let purged = store.purge(NOW - 180 * 86400, NOW).expect("purge");
        assert_eq!(purged, Purged { flags: 2, acknowledgements: 0, handled: 2, outbox: 1, given_up: 1 });
        assert!(store.flag(3).expect("read").is_some());
        assert_eq!(store.pending_count().expect("count"), 1, "a recent pending action is kept");
        assert_eq!(store.action_state("dm", 2).expect("state"), Some(("failed".into(), Some(GIVEN_UP.into()))));
        // The given-up row is kept, marked, for another retention period, then purged.
        assert_eq!(store.purge(NOW - 180 * 86400, NOW).expect("again").outbox, 0);
        assert_eq!(store.purge(NOW + 1, NOW + 181 * 86400).expect("later").outbox, 1);
    }

    /// The author's own text, as a removal's DM carries it.
    fn removal_dm(text: &str) -> NewAction {
        NewAction { kind: "dm".into(), payload: format!("{{\"act\":\"dm\",\"if_removed\":{{\"text\":\"{text}\"}}}}") }
    }

    fn files_hold(dir: &Path, needle: &str) -> bool {
        ["bedside.db", "bedside.db-wal"].iter().any(|f| {
            std::fs::read(dir.join(f)).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
    }

    #[test]
    fn a_removal_dm_still_pending_after_retention_is_given_up_and_its_text_erased() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("bedside.db")).expect("store");
        store.record_flag(&flag(1), &[removal_dm("Zephyrine Oakhart-Liu")], NOW - 200 * 86400).expect("write");
        assert!(files_hold(dir.path(), "Zephyrine"), "the control: the text is there while the DM waits");
        let purged = store.purge(NOW - 180 * 86400, NOW).expect("purge");
        assert_eq!(purged.given_up, 1);
        assert_eq!(store.pending_count().expect("count"), 0);
        assert!(!files_hold(dir.path(), "Zephyrine"), "erased from the database and the WAL");
    }

    #[test]
    fn an_erasure_held_up_by_a_reader_is_recorded_and_completed_once_the_reader_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bedside.db");
        let store = Store::open(&path).expect("bot");
        store.record_flag(&flag(1), &[removal_dm("Zephyrine Oakhart-Liu")], NOW).expect("write");
        // `bedside report` reading, in the middle of a read transaction on an older snapshot.
        let reader = Connection::open(&path).expect("reader");
        reader.execute_batch("BEGIN; SELECT COUNT(*) FROM flags;").expect("read transaction");
        let _: i64 = reader.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)).expect("read");
        let p = pending(&store).remove(0);
        store.mark_sent(p.id, NOW + 1).expect("sent");
        assert!(store.erasure_owed().expect("owed?"), "the checkpoint could not truncate: recorded");
        assert!(!store.retry_erasure(NOW + 2).expect("retry"), "still held up while the reader reads");
        reader.execute_batch("COMMIT;").expect("the reader is done");
        assert!(store.retry_erasure(NOW + 3).expect("retry"), "completed once the reader is gone");
        assert!(!store.erasure_owed().expect("owed?"));
        assert_eq!(std::fs::metadata(dir.path().join("bedside.db-wal")).map(|m| m.len()).unwrap_or(0), 0);
        assert!(!files_hold(dir.path(), "Zephyrine"), "erased from the database and the WAL");
    }

    #[test]
    fn dismissals_are_kept_per_rule() {
        let store = Store::open_in_memory().expect("store");
        store.record_flag(&flag(1), &[], NOW).expect("write");
        assert!(store.dismiss(1, true, NOW + 5).expect("dismiss"));
        assert_eq!(store.flag(1).expect("read").expect("flag").status, "dismissed");
        let n: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM dismissals WHERE rule = 'id.phone' AND by = 'author'", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1);
        assert!(!store.dismiss(404, false, NOW).expect("no such flag"));
    }

    #[test]
    fn activity_tracks_posts_and_the_catch_up_cursor() {
        let store = Store::open_in_memory().expect("store");
        store.note_post(Some(1), 7, 100, false, NOW).expect("post");
        store.note_post(Some(1), 7, 90, true, NOW - 50).expect("older staff post");
        assert_eq!(store.last_message(7).expect("read"), Some(100));
        let (last, staff): (i64, i64) = store
            .conn()
            .query_row("SELECT last_post_at, last_staff_post_at FROM channel_activity WHERE channel_id = 7", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row");
        assert_eq!((last as u64, staff as u64), (NOW, NOW - 50));
    }

    #[test]
    fn report_data_reads_what_was_recorded() {
        let store = Store::open_in_memory().expect("store");
        store.record_flag(&flag(1), &[], NOW - 86_400).expect("flag");
        store.dismiss(1, false, NOW).expect("dismiss");
        store.record_flag(&flag(2), &[], NOW - 40 * 86_400).expect("old flag");
        store.note_post(Some(1), 7, 10, true, NOW - 3600).expect("staff post");
        store.note_post(Some(1), 7, 11, false, NOW - 60).expect("patient post");
        let data = store.report_data(NOW - 30 * 86_400, 5 * 86_400).expect("data");
        assert_eq!((data.staff_posts, data.patient_posts), (1, 1));
        assert_eq!(data.flags.len(), 1, "the 40-day-old flag is outside the period");
        assert_eq!(data.dismissals.get("id.phone"), Some(&1));
        assert_eq!(data.channels, vec![(7, Some(NOW - 3600))]);
    }

    #[test]
    fn a_file_store_migrates_once_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/bedside.db");
        {
            let store = Store::open(&path).expect("create");
            store.record_flag(&flag(9), &[], NOW).expect("write");
        }
        let store = Store::open(&path).expect("reopen");
        assert!(store.flag(9).expect("read").is_some(), "data survives a restart");
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bedside.db");
        std::fs::write(&path, b"this is not a database, it is a shopping list: milk, eggs").expect("write");
        let e = Store::open(&path).err().expect("must fail");
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains("not a Bedside database or is corrupt"), "{e}");
    }

    #[test]
    fn a_database_locked_by_another_process_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bedside.db");
        drop(Store::open(&path).expect("create"));
        let holder = Connection::open(&path).expect("another process");
        holder.execute_batch("BEGIN EXCLUSIVE;").expect("hold the lock");
        let e = Store::open(&path).err().expect("must fail while locked");
        assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        assert!(e.to_string().contains("locked by another process"), "{e}");
        holder.execute_batch("COMMIT;").expect("release");
        assert!(Store::open(&path).is_ok(), "fine once released");
    }

    #[test]
    fn a_reader_can_open_the_database_while_the_bot_has_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bedside.db");
        let bot = Store::open(&path).expect("bot");
        bot.record_flag(&flag(1), &[], NOW).expect("write");
        let report = Store::open(&path).expect("bedside report opens it too");
        assert!(report.flag(1).expect("read").is_some());
    }
}
