-- Each account's number of todos, kept in step by every create and delete in the same
-- transaction: a create bumps it only while it is under MAX_TODOS_PER_USER, so concurrent
-- creates cannot pass the quota. The SQLite twin of this file must stay in step.
ALTER TABLE users ADD COLUMN todo_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET todo_count = (SELECT count(*) FROM todos WHERE todos.owner_id = users.id);
