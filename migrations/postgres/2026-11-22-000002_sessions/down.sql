DROP TABLE revoked_sessions;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
