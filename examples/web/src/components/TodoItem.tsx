import { useEffect, useRef, useState } from "react";
import type { Item } from "../sync";

type Props = {
  item: Item;
  onToggle: () => void;
  onRename: (title: string) => void;
  onDestroy: () => void;
};

/** One `li` of the list: view mode, or edit mode after a double-click on its label. */
export function TodoItem({ item, onToggle, onRename, onDestroy }: Props) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(item.title);
  const input = useRef<HTMLInputElement>(null);
  // Leaving edit mode removes the input, which blurs it: that blur must not save again.
  const finished = useRef(false);

  useEffect(() => {
    if (editing) input.current?.focus();
  }, [editing]);

  function startEditing() {
    finished.current = false;
    setDraft(item.title);
    setEditing(true);
  }

  function save() {
    if (finished.current) return;
    finished.current = true;
    setEditing(false);
    onRename(draft);
  }

  const classes = [item.completed && "completed", editing && "editing"].filter(Boolean).join(" ");
  return (
    <li className={classes || undefined}>
      <div className="view">
        <input className="toggle" type="checkbox" checked={item.completed} onChange={onToggle} />
        <label onDoubleClick={startEditing}>{item.title}</label>
        <button className="destroy" aria-label={`Delete ${item.title}`} onClick={onDestroy} />
      </div>
      {editing && (
        <input
          ref={input}
          className="edit"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onBlur={save}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.nativeEvent.isComposing) save();
            if (event.key === "Escape") {
              finished.current = true;
              setEditing(false);
            }
          }}
        />
      )}
    </li>
  );
}
