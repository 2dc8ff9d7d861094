DROP TABLE todo_tombstones;
DROP INDEX todos_owner_change;
DROP INDEX todos_owner_client;
ALTER TABLE todos DROP COLUMN client_fingerprint;
ALTER TABLE todos DROP COLUMN client_id;
ALTER TABLE todos DROP COLUMN created_seq;
ALTER TABLE todos DROP COLUMN change_seq;
ALTER TABLE users DROP COLUMN sync_purged;
ALTER TABLE users DROP COLUMN sync_version;
