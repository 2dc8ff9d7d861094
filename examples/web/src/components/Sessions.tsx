import { useMutation, useQuery } from "urql";
import { signOut } from "../client";
import { RevokeSession, Sessions as SessionsQuery } from "../operations";

function when(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** `#/sessions`: every live session of the viewer; any of them can be revoked. */
export function Sessions() {
  const [{ data, error }, refetch] = useQuery({ query: SessionsQuery, requestPolicy: "network-only" });
  const [, revoke] = useMutation(RevokeSession);

  async function revokeOne(id: string, current: boolean) {
    const result = await revoke({ id });
    if (current && !result.error) signOut();
    else refetch({ requestPolicy: "network-only" });
  }

  return (
    <section className="sessions">
      <h2>Signed-in sessions</h2>
      {error && <p className="sessions-error">{error.graphQLErrors[0]?.message ?? error.message}</p>}
      <ul className="session-list">
        {data?.me.sessions.map((session) => (
          <li key={session.id} className={session.current ? "session current" : "session"}>
            <div className="device">
              {session.userAgent ?? "Unknown device"}
              {session.current && <span className="this-device"> (this browser)</span>}
            </div>
            <div className="times">
              Signed in {when(session.createdAt)} · last used {when(session.lastUsedAt)}
              {session.ip && ` · ${session.ip}`}
            </div>
            <button className="revoke" onClick={() => void revokeOne(session.id, session.current)}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <p className="back">
        <a href="#/">Back to the todos</a>
      </p>
    </section>
  );
}
