import type { Filter } from "../route";
import type { Item } from "../sync";

const FILTERS: Array<[Filter, string, string]> = [
  ["all", "#/", "All"],
  ["active", "#/active", "Active"],
  ["completed", "#/completed", "Completed"],
];

/** `footer.footer`: the count of active todos, the filters and "Clear completed". */
export function Footer({ items, filter, onClearCompleted }: { items: Item[]; filter: Filter; onClearCompleted: () => void }) {
  const active = items.filter((item) => !item.completed).length;
  const completed = items.length - active;
  return (
    <footer className="footer">
      <span className="todo-count">
        <strong>{active}</strong> {active === 1 ? "item" : "items"} left
      </span>
      <ul className="filters">
        {FILTERS.map(([name, href, label]) => (
          <li key={name}>
            <a href={href} className={filter === name ? "selected" : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
      {completed > 0 && (
        <button className="clear-completed" onClick={onClearCompleted}>
          Clear completed
        </button>
      )}
    </footer>
  );
}
