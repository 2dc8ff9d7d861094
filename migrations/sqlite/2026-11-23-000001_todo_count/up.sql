-- Each account's number of todos; the PostgreSQL twin of this file must stay in step.
ALTER TABLE users ADD COLUMN todo_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET todo_count = (SELECT count(*) FROM todos WHERE todos.owner_id = users.id);
