import { useEffect, useState, useSyncExternalStore } from "react";
import { useMutation } from "urql";
import { getSession, signOut, subscribeSession, type Viewer } from "./client";
import { AuthForm } from "./components/AuthForm";
import { Footer } from "./components/Footer";
import { Sessions } from "./components/Sessions";
import { TodoList } from "./components/TodoList";
import { Logout } from "./operations";
import { useRoute } from "./route";
import { TodoSync } from "./sync";

/** Signed out: the auth form; signed in: the todos or the sessions page. */
export function App() {
  const session = useSyncExternalStore(subscribeSession, getSession);
  if (session.status === "loading") return null;
  if (session.status === "signedOut") return <AuthForm notice={session.reason} />;
  return <SignedIn key={session.viewer.id} viewer={session.viewer} />;
}

function SignedIn({ viewer }: { viewer: Viewer }) {
  const [sync, setSync] = useState<TodoSync | null>(null);
  useEffect(() => {
    const created = new TodoSync(viewer.id);
    setSync(created);
    return () => created.stop();
  }, [viewer.id]);
  const route = useRoute();
  const [, logout] = useMutation(Logout);

  async function logoutScope(scope: "CURRENT" | "ALL") {
    await logout({ scope });
    signOut();
  }

  return (
    <>
      <section className="todoapp">
        {route.page === "sessions" ? (
          <>
            <header className="header">
              <h1>todos</h1>
            </header>
            <Sessions />
          </>
        ) : (
          sync && <Todos sync={sync} filter={route.filter} />
        )}
      </section>
      <footer className="info">
        <p>Double-click to edit a todo</p>
        <p>
          Part of <a href="https://todomvc.com">TodoMVC</a>
        </p>
        <p className="account">
          Signed in as <span className="email">{viewer.email}</span> · <a href="#/sessions">Sessions</a> ·{" "}
          <button className="logout" onClick={() => void logoutScope("CURRENT")}>
            Log out
          </button>{" "}
          ·{" "}
          <button className="logout-all" onClick={() => void logoutScope("ALL")}>
            Log out everywhere
          </button>
        </p>
      </footer>
    </>
  );
}

function Todos({ sync, filter }: { sync: TodoSync; filter: "all" | "active" | "completed" }) {
  const { items, notices } = useSyncExternalStore(sync.subscribe, sync.getSnapshot);
  const [draft, setDraft] = useState("");

  return (
    <>
      <header className="header">
        <h1>todos</h1>
        <input
          className="new-todo"
          placeholder="What needs to be done?"
          autoFocus
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key !== "Enter" || event.nativeEvent.isComposing) return;
            sync.add(draft);
            setDraft("");
          }}
        />
      </header>
      {notices.length > 0 && (
        <ul className="notices">
          {notices.map((notice) => (
            <li key={notice.id} className={notice.kind === "conflict" ? "conflict" : "sync-error"} role="alert">
              <span className="message">{notice.message}</span>
              <button className="dismiss" aria-label="Dismiss" onClick={() => sync.dismiss(notice.id)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {items.length > 0 && (
        <>
          <TodoList items={items} filter={filter} sync={sync} />
          <Footer items={items} filter={filter} onClearCompleted={() => sync.clearCompleted()} />
        </>
      )}
    </>
  );
}
