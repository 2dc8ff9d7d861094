// Shared by the bench's Node scripts: GraphQL over HTTP, sign-up and login, a signed-in
// socket with one todoEvents subscription, and a process's resident memory.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export const password = 'correct horse battery staple 42';

/** POSTs one operation; throws with the errors when there are any. */
export async function gql(url, query, variables, token) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Signs up a fresh user tagged `tag`; its email and access token. */
export async function signup(url, tag) {
  const email = `${tag}-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  const data = await gql(
    url,
    'mutation($i: SignupInput!) { signup(input: $i) { accessToken } }',
    { i: { email, password } },
  );
  return { email, token: data.signup.accessToken };
}
/** A new session's access token for `email`. */
export async function login(url, email) {
  const data = await gql(
    url,
    'mutation($i: LoginInput!) { login(input: $i) { accessToken } }',
    { i: { email, password } },
  );
  return data.login.accessToken;
}

/** A signed-in socket with one todoEvents subscription; `onEvent` gets each event and
 * `onClose` the close code. */
export function open(url, token, onEvent, onClose) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'connection_init', payload: { accessToken: token } })),
    );
    ws.on('message', (raw) => {
      const message = JSON.parse(raw);
      if (message.type === 'connection_ack') {
        ws.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription { todoEvents { kind todoId cursor } }' },
          }),
        );
        // The subscription is registered once the server read the message; a short pause
        // keeps the first write from racing it.
        setTimeout(() => resolve(ws), 50);
      } else if (message.type === 'next') {
        onEvent(message.payload.data.todoEvents);
      } else if (message.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (message.type === 'error') {
        reject(new Error(JSON.stringify(message.payload)));
      }
    });
    ws.on('close', (code) => {
      onClose?.(code);
      reject(new Error(`closed ${code}`));
    });
    ws.on('error', reject);
  });
}


/** The resident memory of process `pid`, in KiB. */
export function rssKiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]);
}
