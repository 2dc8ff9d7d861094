-- Sessions: one per signup or login, holding its refresh tokens. The SQLite twin of this
-- file must stay in step.
CREATE TABLE sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    revoked_at   TIMESTAMP
);
CREATE INDEX sessions_user_created ON sessions (user_id, created_at, id);

-- Only the SHA-256 of a refresh token is stored. A used token stays (used_at set) until it
-- expires, so presenting it again is recognised as reuse.
CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Revoked sessions whose access tokens may still be unexpired, until `until`. Not tied to
-- users, so the revocation of a deleted account's sessions outlives the account.
CREATE TABLE revoked_sessions (
    session_id TEXT COLLATE "C" PRIMARY KEY,
    until      TIMESTAMP NOT NULL
);
CREATE INDEX revoked_sessions_until ON revoked_sessions (until);
