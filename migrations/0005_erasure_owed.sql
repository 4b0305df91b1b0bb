-- An erasure whose WAL checkpoint could not truncate (a reader such as `bedside report` held an old
-- snapshot, so older copies of the erased text may still sit in the WAL file): recorded here, and
-- the checkpoint is tried again until it truncates (Store::retry_erasure). One row at most.
CREATE TABLE erasure_owed (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    since  INTEGER NOT NULL
);
