-- Users and their todos. Text columns that are sorted or compared use the "C" collation so
-- that PostgreSQL orders them byte by byte, as SQLite does.
CREATE TABLE users (
    id            TEXT COLLATE "C" PRIMARY KEY,
    email         TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    display_name  TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
-- Emails are stored trimmed and lower-cased; the index on lower() also holds against any
-- row written around the application.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE todos (
    id           TEXT COLLATE "C" PRIMARY KEY,
    owner_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        TEXT COLLATE "C" NOT NULL,
    notes        TEXT,
    completed    BOOLEAN NOT NULL DEFAULT FALSE,
    completed_at TIMESTAMP,
    priority     INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
    due_at       TIMESTAMP,
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
-- One index per orderBy field, each ending in id: the keyset tie-breaker.
CREATE INDEX todos_owner_created ON todos (owner_id, created_at, id);
CREATE INDEX todos_owner_updated ON todos (owner_id, updated_at, id);
CREATE INDEX todos_owner_due ON todos (owner_id, (due_at IS NULL), due_at, id);
CREATE INDEX todos_owner_priority ON todos (owner_id, priority, id);
CREATE INDEX todos_owner_title ON todos (owner_id, lower(title), id);
CREATE INDEX todos_owner_completed ON todos (owner_id, completed);
