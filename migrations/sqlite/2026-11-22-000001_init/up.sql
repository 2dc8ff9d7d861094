-- Users and their todos; the PostgreSQL twin of this file must stay in step.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    display_name  TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE todos (
    id           TEXT PRIMARY KEY NOT NULL,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    notes        TEXT,
    completed    BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at TIMESTAMP,
    priority     INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
    due_at       TIMESTAMP,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX todos_owner_created ON todos (owner_id, created_at, id);
CREATE INDEX todos_owner_updated ON todos (owner_id, updated_at, id);
CREATE INDEX todos_owner_due ON todos (owner_id, (due_at IS NULL), due_at, id);
CREATE INDEX todos_owner_priority ON todos (owner_id, priority, id);
CREATE INDEX todos_owner_title ON todos (owner_id, lower(title), id);
CREATE INDEX todos_owner_completed ON todos (owner_id, completed);
