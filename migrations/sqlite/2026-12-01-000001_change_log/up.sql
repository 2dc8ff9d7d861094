-- The per-account change log; the PostgreSQL twin of this file (which explains it) must
-- stay in step.
ALTER TABLE users ADD COLUMN sync_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN sync_purged BIGINT NOT NULL DEFAULT 0;

ALTER TABLE todos ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE todos ADD COLUMN created_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE todos ADD COLUMN client_id TEXT;
ALTER TABLE todos ADD COLUMN client_fingerprint TEXT;
CREATE UNIQUE INDEX todos_owner_client ON todos (owner_id, client_id);
CREATE INDEX todos_owner_change ON todos (owner_id, change_seq, id);

CREATE TABLE todo_tombstones (
    owner_id           TEXT NOT NULL,
    todo_id            TEXT NOT NULL,
    change_seq         BIGINT NOT NULL,
    deleted_at         TIMESTAMP NOT NULL,
    client_id          TEXT,
    client_fingerprint TEXT,
    PRIMARY KEY (owner_id, todo_id)
);
CREATE INDEX todo_tombstones_owner_change ON todo_tombstones (owner_id, change_seq, todo_id);
CREATE INDEX todo_tombstones_deleted ON todo_tombstones (deleted_at);
CREATE INDEX todo_tombstones_owner_client ON todo_tombstones (owner_id, client_id);
