ALTER TABLE users DROP COLUMN todo_count;
