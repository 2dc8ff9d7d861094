-- The per-account change log that sync and live updates read. Every write transaction
-- raises its owner's sync_version by one and stamps that number on the rows it changed
-- (todos.change_seq) or deleted (todo_tombstones.change_seq), so "what changed after n"
-- is a range scan of (owner_id, change_seq, id). The SQLite twin of this file must stay in
-- step.
ALTER TABLE users ADD COLUMN sync_version BIGINT NOT NULL DEFAULT 0;
-- The highest change number whose tombstones were purged: a cursor below it must resync.
ALTER TABLE users ADD COLUMN sync_purged BIGINT NOT NULL DEFAULT 0;

ALTER TABLE todos ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE todos ADD COLUMN created_seq BIGINT NOT NULL DEFAULT 0;
-- A client-made UUID that makes a create idempotent, and the SHA-256 of the create's
-- checked input, which tells a replay from a reuse of the id for something else.
ALTER TABLE todos ADD COLUMN client_id TEXT COLLATE "C";
ALTER TABLE todos ADD COLUMN client_fingerprint TEXT COLLATE "C";
CREATE UNIQUE INDEX todos_owner_client ON todos (owner_id, client_id);
CREATE INDEX todos_owner_change ON todos (owner_id, change_seq, id);

-- Deleted todos, kept for SYNC_TOMBSTONE_TTL so that offline clients learn of the
-- deletion. No foreign key to users: a deleted account's tombstones stay readable until
-- they are purged.
CREATE TABLE todo_tombstones (
    owner_id           TEXT COLLATE "C" NOT NULL,
    todo_id            TEXT COLLATE "C" NOT NULL,
    change_seq         BIGINT NOT NULL,
    deleted_at         TIMESTAMP NOT NULL,
    client_id          TEXT COLLATE "C",
    client_fingerprint TEXT COLLATE "C",
    PRIMARY KEY (owner_id, todo_id)
);
CREATE INDEX todo_tombstones_owner_change ON todo_tombstones (owner_id, change_seq, todo_id);
CREATE INDEX todo_tombstones_deleted ON todo_tombstones (deleted_at);
CREATE INDEX todo_tombstones_owner_client ON todo_tombstones (owner_id, client_id);
