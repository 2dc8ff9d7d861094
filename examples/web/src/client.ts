// The GraphQL client: urql over HTTP with an auth exchange that keeps the access token in
// memory only, and graphql-ws for the socket. The refresh token never reaches JavaScript: it
// travels in the server's HttpOnly `__Host-refresh_token` cookie, so `refreshSession` is
// called without an argument.
import { authExchange, type AuthUtilities } from "@urql/exchange-auth";
import { createClient as createSocket, type Client as Socket } from "graphql-ws";
import { Client, fetchExchange, subscriptionExchange, type CombinedError, type Operation } from "urql";
import { Refresh } from "./operations";

/** Who is signed in. */
export type Viewer = { id: string; email: string };

/** What the app shows: nothing yet, the auth form, or the todos of `viewer`. */
export type Session =
  | { status: "loading" }
  | { status: "signedOut"; reason?: string; retrying?: boolean }
  | { status: "signedIn"; viewer: Viewer };

type AuthPayload = { accessToken: string; expiresAt: string; user: Viewer };

/**
 * Refresh this long before the access token expires, so no request is sent with a dead one:
 * 30 s, or a third of the token's lifetime when it is short.
 */
const REFRESH_MARGIN_MS = 30_000;
/** Operations that must go out without an access token and never trigger a refresh. */
const AUTH_OPERATIONS = new Set(["Login", "Signup", "Refresh"]);

let access: { token: string; expiresAt: number; margin: number } | null = null;
let session: Session = { status: "loading" };
let refreshing: Promise<boolean> | null = null;
let socket: Socket | null = null;
let resolveAuthUtilities: (utils: AuthUtilities) => void = () => {};
// The auth exchange's own `mutate` bypasses its queue, which a refresh must: the exchange
// holds every other operation back until the refresh is done.
const authUtilities = new Promise<AuthUtilities>((resolve) => {
  resolveAuthUtilities = resolve;
});
const sessionListeners = new Set<() => void>();
const reconnectListeners = new Set<() => void>();

function operationName(operation: Operation): string | undefined {
  for (const definition of operation.query.definitions) {
    if (definition.kind === "OperationDefinition") return definition.name?.value;
  }
  return undefined;
}

function setSession(next: Session) {
  session = next;
  sessionListeners.forEach((listener) => listener());
}

/** The current session, for `useSyncExternalStore`. */
export function getSession(): Session {
  return session;
}

/** Calls `listener` whenever the session changes; returns the unsubscribe function. */
export function subscribeSession(listener: () => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

/** Calls `listener` after the socket comes back from a drop, so subscriptions can resume. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

/** Takes the answer of a login, signup or refresh: the new access token and its viewer. */
export function signedIn(payload: AuthPayload) {
  const expiresAt = Date.parse(payload.expiresAt);
  const margin = Math.min(REFRESH_MARGIN_MS, (expiresAt - Date.now()) / 3);
  access = { token: payload.accessToken, expiresAt, margin };
  if (session.status !== "signedIn" || session.viewer.id !== payload.user.id) {
    setSession({ status: "signedIn", viewer: payload.user });
  }
}

/** Forgets the access token and closes the socket; the app shows the auth form. */
export function signOut(reason?: string) {
  access = null;
  socket?.dispose();
  socket = null;
  setSession({ status: "signedOut", reason });
}

/**
 * Exchanges the refresh cookie for a new access token. One refresh runs at a time; callers
 * arriving meanwhile share its outcome. A refused refresh signs out; an unreachable server
 * or a rate limit leaves the session as it is, to be tried again.
 */
export function refreshAccess(): Promise<boolean> {
  refreshing ??= (async () => {
    const result = await (await authUtilities).mutate(Refresh, {});
    const payload = result.data?.refreshSession;
    if (payload) {
      signedIn(payload);
      return true;
    }
    const refusal = result.error?.graphQLErrors[0]?.extensions;
    if (result.error?.networkError || refusal?.code === "RATE_LIMITED") {
      // Not a verdict on the session. Signed in: keep going, the next request tries again.
      // On load: say so, and try again by ourselves.
      if (session.status !== "signedIn") {
        const wait = refusal?.code === "RATE_LIMITED" ? Number(refusal.retryAfter) || 3 : 3;
        const reason = result.error?.networkError
          ? "The server cannot be reached; trying again…"
          : `Too many attempts; trying again in ${wait} seconds…`;
        setSession({ status: "signedOut", reason, retrying: true });
        retryRestore(wait * 1000);
      }
      return false;
    }
    signOut(session.status === "signedIn" ? "Your session has ended; please sign in again." : undefined);
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function expiresSoon(token: NonNullable<typeof access>): boolean {
  return token.expiresAt - Date.now() < token.margin;
}

let restoreTimer: ReturnType<typeof setTimeout> | null = null;
function retryRestore(delayMs: number) {
  restoreTimer ??= setTimeout(() => {
    restoreTimer = null;
    if (session.status === "signedOut" && session.retrying) void refreshAccess();
  }, delayMs);
}

async function freshAccessToken(): Promise<string | null> {
  if (!access || expiresSoon(access)) await refreshAccess();
  return access?.token ?? null;
}

function isUnauthenticated(error: CombinedError): boolean {
  return (
    error.response?.status === 401 ||
    error.graphQLErrors.some((e) => e.extensions?.code === "UNAUTHENTICATED")
  );
}

function openSocket(): Socket {
  let connectedBefore = false;
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
  return createSocket({
    url,
    // Called before every (re)connect: hand over a token that is valid now.
    connectionParams: async () => {
      const token = await freshAccessToken();
      return token ? { accessToken: token } : {};
    },
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** retries, 4000))),
    on: {
      connected: () => {
        if (connectedBefore) reconnectListeners.forEach((listener) => listener());
        connectedBefore = true;
      },
      closed: (event) => {
        // 4403: the token expired or the session was revoked. Refresh at once: a revoked
        // session fails the refresh and signs out within a moment, not after a retry delay.
        if ((event as CloseEvent).code === 4403) {
          access = null;
          void refreshAccess();
        }
      },
    },
  });
}

/** The one urql client of the app. */
export const client = new Client({
  url: "/graphql",
  requestPolicy: "network-only",
  preferGetMethod: false,
  exchanges: [
    authExchange(async (utils) => {
      resolveAuthUtilities(utils);
      return {
        addAuthToOperation(operation) {
          if (!access || AUTH_OPERATIONS.has(operationName(operation) ?? "")) return operation;
          return utils.appendHeaders(operation, { Authorization: `Bearer ${access.token}` });
        },
        willAuthError(operation) {
          if (AUTH_OPERATIONS.has(operationName(operation) ?? "") || session.status !== "signedIn") return false;
          return !access || expiresSoon(access);
        },
        didAuthError(error, operation) {
          return !AUTH_OPERATIONS.has(operationName(operation) ?? "") && isUnauthenticated(error);
        },
        async refreshAuth() {
          await refreshAccess();
        },
      };
    }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query ?? "" };
        return {
          subscribe(sink) {
            socket ??= openSocket();
            return { unsubscribe: socket.subscribe(input, sink) };
          },
        };
      },
    }),
  ],
});

/** On page load: the refresh cookie, if any, signs the person back in. */
export async function restoreSession() {
  await refreshAccess();
}
