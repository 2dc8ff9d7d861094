import type { Filter } from "../route";
import type { Item, TodoSync } from "../sync";
import { TodoItem } from "./TodoItem";

/** `section.main`: the toggle-all checkbox and the filtered list. */
export function TodoList({ items, filter, sync }: { items: Item[]; filter: Filter; sync: TodoSync }) {
  const allCompleted = items.every((item) => item.completed);
  const shown = items.filter((item) =>
    filter === "active" ? !item.completed : filter === "completed" ? item.completed : true,
  );
  return (
    <section className="main">
      <input
        id="toggle-all"
        className="toggle-all"
        type="checkbox"
        checked={allCompleted}
        onChange={() => sync.setAll(!allCompleted)}
      />
      <label htmlFor="toggle-all">Mark all as complete</label>
      <ul className="todo-list">
        {shown.map((item) => (
          <TodoItem
            key={item.key}
            item={item}
            onToggle={() => sync.toggle(item.key, !item.completed)}
            onRename={(title) => sync.rename(item.key, title)}
            onDestroy={() => sync.remove(item.key)}
          />
        ))}
      </ul>
    </section>
  );
}
