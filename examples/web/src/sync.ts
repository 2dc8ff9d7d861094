// The viewer's todos as the app shows them: the server's copy (a full pull through `changes`,
// then `todoEvents` from its cursor) with the outbox of unsent writes applied on top. Every
// write goes through the outbox, online or not, so an offline edit and an online one take the
// same path: creates carry a `clientId` and updates an `expectedVersion`, so a replay after a
// lost answer or a reload never applies anything twice. The outbox lives in localStorage and
// holds todos only, never a token.
import type { CombinedError } from "urql";
import { client, onReconnect } from "./client";
import type { TodoFieldsFragment as Todo, UpdateTodoInput } from "./gql/graphql";
import {
  Changes,
  ClearCompleted,
  CreateTodo,
  DeleteTodo,
  SetAllCompleted,
  TodoById,
  TodoEvents,
  UpdateTodo,
} from "./operations";
import { applyOutbox, foldTarget, loadOutbox, saveOutbox, touches, type Edit, type Item, type Op } from "./outbox";

export type { Item } from "./outbox";

/** Something the person should know about: an edit refused as a conflict, a failed write. */
export type Notice = { id: number; kind: "conflict" | "error"; message: string };

type Outcome = "done" | "later";

/** What the components render. */
export type Snapshot = { ready: boolean; items: Item[]; notices: Notice[]; pending: number };

const RETRY_MS = 3000;

function keyOf(todo: Todo): string {
  return todo.clientId ?? todo.id;
}

function codeOf(error: CombinedError | undefined): string | undefined {
  return error?.graphQLErrors[0]?.extensions?.code as string | undefined;
}

/** The todos of one signed-in viewer; `stop()` when they sign out. */
export class TodoSync {
  private server = new Map<string, Todo>();
  private deleted = new Set<string>();
  /** Titles of deleted todos by key, to name them when an unsent edit of one is refused. */
  private gone = new Map<string, string>();
  private cursor: string | null = null;
  private outbox: Op[];
  private notices: Notice[] = [];
  private nextNotice = 1;
  private ready = false;
  private flushing = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private events: { unsubscribe(): void } | null = null;
  private pulling: Promise<unknown> = Promise.resolve();
  private listeners = new Set<() => void>();
  private snapshot: Snapshot = { ready: false, items: [], notices: [], pending: 0 };
  private readonly storageKey: string;
  private readonly cleanups: Array<() => void> = [];

  constructor(viewerId: string) {
    this.storageKey = `todo-graphql-outbox:${viewerId}`;
    this.outbox = loadOutbox(this.storageKey);
    const online = () => void this.flush();
    window.addEventListener("online", online);
    this.cleanups.push(() => window.removeEventListener("online", online));
    this.cleanups.push(onReconnect(() => this.follow()));
    void this.start();
  }

  /** For `useSyncExternalStore`. */
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** For `useSyncExternalStore`. */
  getSnapshot = () => this.snapshot;

  /** Stops following the server (sign-out); the outbox stays for this viewer's next visit. */
  stop() {
    this.stopped = true;
    this.events?.unsubscribe();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.cleanups.forEach((cleanup) => cleanup());
  }

  add(title: string) {
    const trimmed = title.trim();
    if (!trimmed) return;
    this.enqueue({ kind: "create", clientId: crypto.randomUUID(), title: trimmed, completed: false });
  }

  rename(key: string, title: string) {
    const trimmed = title.trim();
    if (!trimmed) return this.remove(key);
    this.edit(key, { title: trimmed });
  }

  toggle(key: string, completed: boolean) {
    this.edit(key, { completed });
  }

  remove(key: string) {
    if (!this.view().some((item) => item.key === key)) return;
    const waiting = foldTarget(this.outbox, key);
    if (waiting?.kind === "create") {
      // Never sent: forget it (and its edits) rather than create and delete it.
      this.outbox = this.outbox.filter((op) => op !== waiting && !("key" in op && op.key === key));
      this.changed();
      return;
    }
    this.enqueue({ kind: "delete", key });
  }

  setAll(completed: boolean) {
    this.enqueue({ kind: "setAll", completed });
  }

  clearCompleted() {
    this.enqueue({ kind: "clearCompleted" });
  }

  dismiss(id: number) {
    this.notices = this.notices.filter((notice) => notice.id !== id);
    this.publish();
  }

  private edit(key: string, edit: Edit) {
    const item = this.view().find((candidate) => candidate.key === key);
    if (!item) return;
    if ((edit.title ?? item.title) === item.title && (edit.completed ?? item.completed) === item.completed) return;
    const waiting = foldTarget(this.outbox, key);
    if (waiting?.kind === "create" || waiting?.kind === "update") {
      Object.assign(waiting.kind === "create" ? waiting : waiting.edit, edit);
      this.changed();
      return;
    }
    const todo = this.serverByKey(key);
    // An edit on top of our own unsent write (a bulk one included) is checked against the
    // version that write produces, not the one shown now.
    const baseVersion = touches(this.outbox, key) || !todo ? null : todo.version;
    this.enqueue({ kind: "update", key, edit, baseVersion, was: item.title });
  }

  private enqueue(op: Op) {
    this.outbox.push(op);
    this.changed();
    void this.flush();
  }

  private changed() {
    saveOutbox(this.storageKey, this.outbox);
    this.publish();
  }

  private async start() {
    while (!(await this.pull()) && !this.stopped) await new Promise((r) => setTimeout(r, RETRY_MS));
    if (this.stopped) return;
    this.ready = true;
    this.publish();
    this.follow();
    void this.flush();
  }

  /** (Re)subscribes to `todoEvents` from the last cursor seen, so nothing is missed or lost. */
  private follow() {
    if (this.stopped) return;
    this.events?.unsubscribe();
    this.events = client.subscription(TodoEvents, { since: this.cursor }).subscribe((result) => {
      const event = result.data?.todoEvents;
      if (!event) return;
      if (event.kind === "RESYNC") {
        this.cursor = event.cursor;
        void this.pull();
        return;
      }
      if (event.kind === "DELETED" && event.todoId) this.forget(event.todoId);
      else if (event.todo) this.upsert(event.todo);
      this.cursor = event.cursor;
      this.publish();
    });
  }

  /** Pulls the changes after the cursor (all todos without one); one pull at a time. */
  private pull(): Promise<boolean> {
    const pass = this.pulling.then(async () => {
      let first = true;
      for (;;) {
        const result = await client.query(Changes, { since: this.cursor }).toPromise();
        const page = result.data?.changes;
        if (!page || this.stopped) return false;
        if (page.fullResync && first) this.server.clear();
        first = false;
        page.upserted.forEach((todo) => this.upsert(todo));
        page.deletedIds.forEach((id) => this.forget(id));
        this.cursor = page.cursor;
        if (!page.hasMore) break;
      }
      this.publish();
      return true;
    });
    this.pulling = pass.then(() => undefined);
    return pass;
  }

  private upsert(todo: Todo) {
    if (this.deleted.has(todo.id)) return;
    const known = this.server.get(todo.id);
    if (!known || known.version <= todo.version) this.server.set(todo.id, todo);
  }

  private forget(id: string) {
    const todo = this.server.get(id);
    if (todo) this.gone.set(keyOf(todo), todo.title);
    this.deleted.add(id);
    this.server.delete(id);
  }

  private serverByKey(key: string): Todo | undefined {
    for (const todo of this.server.values()) if (keyOf(todo) === key) return todo;
    return undefined;
  }

  /** Sends the outbox in order, each op until it is answered; stops while offline. */
  private async flush() {
    if (this.flushing || this.stopped || !this.ready) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.stopped) {
        // Offline, nothing is sent (the "online" event resumes), so the ops stay foldable.
        if (!navigator.onLine) return;
        const op = this.outbox[0];
        if (!op.attempted) {
          op.attempted = true;
          saveOutbox(this.storageKey, this.outbox);
        }
        const outcome = await this.send(op);
        if (outcome === "later") {
          this.retryTimer ??= setTimeout(() => {
            this.retryTimer = null;
            void this.flush();
          }, RETRY_MS);
          return;
        }
        this.outbox.shift();
        this.changed();
      }
    } finally {
      this.flushing = false;
    }
  }

  private async send(op: Op): Promise<Outcome> {
    switch (op.kind) {
      case "create": {
        const input = { title: op.title, completed: op.completed || undefined, clientId: op.clientId };
        const result = await client.mutation(CreateTodo, { input }).toPromise();
        if (result.data) this.upsert(result.data.createTodo);
        return this.settle(result.error, `“${op.title}” could not be saved`);
      }
      case "update": {
        const todo = this.serverByKey(op.key);
        if (!todo) return this.deletedElsewhere(this.gone.get(op.key));
        const input: UpdateTodoInput = op.edit;
        const expectedVersion = op.baseVersion ?? todo.version;
        const result = await client.mutation(UpdateTodo, { id: todo.id, input, expectedVersion }).toPromise();
        if (result.data) this.upsert(result.data.updateTodo);
        if (codeOf(result.error) === "CONFLICT") return this.conflict(todo, op);
        if (codeOf(result.error) === "NOT_FOUND") {
          this.forget(todo.id);
          return this.deletedElsewhere(todo.title);
        }
        return this.settle(result.error, `The change to “${todo.title}” could not be saved`);
      }
      case "delete": {
        const todo = this.serverByKey(op.key);
        if (!todo) return "done";
        const result = await client.mutation(DeleteTodo, { id: todo.id }).toPromise();
        if (result.data || codeOf(result.error) === "NOT_FOUND") {
          this.forget(todo.id);
          return "done";
        }
        return this.settle(result.error, `“${todo.title}” could not be deleted`);
      }
      case "setAll": {
        const result = await client.mutation(SetAllCompleted, { completed: op.completed }).toPromise();
        result.data?.setAllTodosCompleted.todos.forEach((todo) => this.upsert(todo));
        return this.settle(result.error, "Marking every todo could not be saved");
      }
      case "clearCompleted": {
        const result = await client.mutation(ClearCompleted, {}).toPromise();
        result.data?.clearCompletedTodos.deletedIds.forEach((id) => this.forget(id));
        return this.settle(result.error, "Clearing the completed todos failed");
      }
    }
  }

  /** Offline or throttled: try again later. Refused: tell the person and move on. */
  private settle(error: CombinedError | undefined, what: string): Outcome {
    if (!error) return "done";
    if (error.networkError || codeOf(error) === "RATE_LIMITED" || codeOf(error) === "UNAUTHENTICATED") return "later";
    if (codeOf(error) !== "NOT_FOUND") this.notify("error", `${what}: ${error.graphQLErrors[0]?.message ?? error.message}`);
    return "done";
  }

  /**
   * Someone changed the todo after the edit was made. If the server already holds what the
   * edit wanted (an earlier attempt whose answer was lost), nothing is wrong; otherwise the
   * edit is dropped and the person is told, rather than overwriting the other change.
   */
  private async conflict(todo: Todo, op: Extract<Op, { kind: "update" }>): Promise<Outcome> {
    const result = await client.query(TodoById, { id: todo.id }).toPromise();
    if (result.error?.networkError) return "later";
    const current = result.data?.todo;
    if (!current) return this.deletedElsewhere(op.was);
    this.upsert(current);
    const { edit } = op;
    const applied = (edit.title ?? current.title) === current.title && (edit.completed ?? current.completed) === current.completed;
    if (!applied) {
      const change =
        edit.title !== undefined ? `your change to “${edit.title}”` : `marking it ${edit.completed ? "completed" : "active"}`;
      this.notify("conflict", `“${op.was}” was changed on another device (now “${current.title}”), so ${change} was not saved.`);
    }
    return "done";
  }

  /**
   * An unsent edit whose todo is gone. Our own deletes come after our edits in the outbox,
   * so this one was made on another device: say so rather than drop the edit unseen.
   */
  private deletedElsewhere(title: string | undefined): Outcome {
    if (title !== undefined) this.notify("conflict", `“${title}” was deleted on another device, so your change was not saved.`);
    return "done";
  }

  private notify(kind: Notice["kind"], message: string) {
    this.notices = [...this.notices, { id: this.nextNotice++, kind, message }];
    this.publish();
  }

  /** The server's todos, oldest first, with the unsent writes applied in order. */
  private view(): Item[] {
    const sorted = [...this.server.values()].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
    return applyOutbox(
      sorted.map((todo) => ({ key: keyOf(todo), title: todo.title, completed: todo.completed })),
      this.outbox,
    );
  }

  private publish() {
    this.snapshot = { ready: this.ready, items: this.view(), notices: this.notices, pending: this.outbox.length };
    this.listeners.forEach((listener) => listener());
  }
}
