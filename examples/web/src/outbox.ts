// The outbox: the writes not yet answered by the server, in order, kept in localStorage so
// they survive a reload. It holds todo titles and flags only, never a token.

/** One row of the list. `key` is stable from the first keystroke to the server's answer. */
export type Item = { key: string; title: string; completed: boolean };

/** The fields an edit sets. */
export type Edit = { title?: string; completed?: boolean };

/** One unsent write. `attempted`: sent at least once, so the server may hold it already. */
export type Op = { attempted?: boolean } & (
  | { kind: "create"; clientId: string; title: string; completed: boolean }
  | { kind: "update"; key: string; edit: Edit; baseVersion: number | null; was: string }
  | { kind: "delete"; key: string }
  | { kind: "setAll"; completed: boolean }
  | { kind: "clearCompleted" }
);

/**
 * The unsent create or update of `key` that a new edit can be folded into: the latest op
 * for that key, if nothing that touches every todo (toggle all, clear completed) came after
 * it and it was never sent (a replay must be the same request).
 */
export function foldTarget(outbox: Op[], key: string): Extract<Op, { kind: "create" | "update" }> | undefined {
  for (let i = outbox.length - 1; i >= 0; i -= 1) {
    const op = outbox[i];
    if (op.kind === "setAll" || op.kind === "clearCompleted") return undefined;
    const target = op.kind === "create" ? op.clientId : op.key;
    if (target !== key) continue;
    if (op.attempted) return undefined;
    return op.kind === "delete" ? undefined : op;
  }
  return undefined;
}

/** Whether an unsent write may change the todo `key` (bulk writes may change any). */
export function touches(outbox: Op[], key: string): boolean {
  return outbox.some((op) => (op.kind === "create" ? op.clientId === key : "key" in op ? op.key === key : true));
}

/** The list as it will be once the outbox is through: `items` with each op applied in order. */
export function applyOutbox(items: Item[], outbox: Op[]): Item[] {
  const byKey = new Map(items.map((item) => [item.key, item]));
  for (const op of outbox) {
    switch (op.kind) {
      case "create":
        if (!byKey.has(op.clientId)) byKey.set(op.clientId, { key: op.clientId, title: op.title, completed: op.completed });
        break;
      case "update": {
        const item = byKey.get(op.key);
        if (item) byKey.set(op.key, { ...item, ...op.edit });
        break;
      }
      case "delete":
        byKey.delete(op.key);
        break;
      case "setAll":
        for (const [key, item] of byKey) byKey.set(key, { ...item, completed: op.completed });
        break;
      case "clearCompleted":
        for (const [key, item] of byKey) if (item.completed) byKey.delete(key);
        break;
    }
  }
  return [...byKey.values()];
}

/** The outbox stored under `storageKey`; empty when there is none or it is unreadable. */
export function loadOutbox(storageKey: string): Op[] {
  try {
    const stored = localStorage.getItem(storageKey);
    return stored ? (JSON.parse(stored) as Op[]) : [];
  } catch {
    return [];
  }
}

/** Stores the outbox, or removes the key once it is empty. */
export function saveOutbox(storageKey: string, outbox: Op[]) {
  if (outbox.length === 0) localStorage.removeItem(storageKey);
  else localStorage.setItem(storageKey, JSON.stringify(outbox));
}
