-- Posts per channel per day, by staff and patients: for reports. Counts only, no content.
CREATE TABLE post_counts (
    channel_id  INTEGER NOT NULL,
    day         INTEGER NOT NULL,       -- days since the Unix epoch
    staff       INTEGER NOT NULL DEFAULT 0,
    patient     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, day)
);
