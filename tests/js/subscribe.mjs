// Drives todoEvents with the graphql-ws client library, the way a frontend does: a first
// connection with a bad token is closed 4403 and retried with a fresh one; events arrive
// for writes made over HTTP; a second client resumes with `since` and gets what it missed.
// Usage: API_URL=http://127.0.0.1:PORT node subscribe.mjs  (exit 0 when every check held)
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const api = process.env.API_URL ?? 'http://127.0.0.1:8000';
const wsUrl = api.replace(/^http/, 'ws') + '/graphql';

const fail = (message) => {
  console.error(`FAIL: ${message}`);
  process.exit(1);
};
setTimeout(() => fail('timed out after 30 s'), 30_000).unref();

async function gql(query, variables, token) {
  const response = await fetch(`${api}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) fail(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const EVENTS = `subscription($since: String) {
  todoEvents(since: $since) { kind todoId cursor todo { id title version } }
}`;

/** Subscribes and hands each event to `onEvent`; resolves once the socket is acknowledged. */
function subscribe(client, variables, onEvent) {
  return new Promise((connected, rejected) => {
    const off = client.on('connected', () => {
      off();
      connected();
    });
    client.subscribe(
      { query: EVENTS, variables },
      {
        next: ({ data, errors }) => (errors ? rejected(errors) : onEvent(data.todoEvents)),
        error: rejected,
        complete: () => {},
      },
    );
  });
}

/** Waits until `events` holds `count` entries. */
async function collected(events, count) {
  for (let i = 0; i < 200 && events.length < count; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  if (events.length < count) fail(`expected ${count} events, got ${JSON.stringify(events)}`);
  return events;
}

const email = `js-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
const password = 'correct horse battery staple 42';
const { signup } = await gql(
  'mutation($input: SignupInput!) { signup(input: $input) { accessToken } }',
  { input: { email, password } },
);
const token = signup.accessToken;

// The first connection offers a bad token: the server closes 4403, and the client asks
// connectionParams again, as it would after refreshing its token.
let offered = 0;
const closes = [];
const client = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 3,
  retryWait: () => new Promise((r) => setTimeout(r, 50)),
  shouldRetry: (event) => event?.code === 4403 || event?.code === 1012,
  connectionParams: async () => ({ accessToken: offered++ === 0 ? 'not-a-token' : token }),
  on: { closed: (event) => closes.push(event?.code) },
});
// Subscribing from a cursor taken first: a subscription without `since` starts from
// whenever the server gets to it, which a create sent right after the acknowledgement
// may beat.
const { changes } = await gql('query { changes { cursor } }', {}, token);
const live = [];
await subscribe(client, { since: changes.cursor }, (event) => live.push(event));
if (closes[0] !== 4403) fail(`the bad token's socket closed with ${closes[0]}, not 4403`);

const { createTodo } = await gql(
  'mutation { createTodo(input: { title: "from js" }) { id version } }',
  {},
  token,
);
// Each write waits for its event: writes closer together may arrive merged, as one event
// with the todo's latest state.
await collected(live, 1);
await gql(
  'mutation($id: ID!) { updateTodo(id: $id, input: { title: "renamed" }) { version } }',
  { id: createTodo.id },
  token,
);
await collected(live, 2);
await gql('mutation($id: ID!) { deleteTodo(id: $id) }', { id: createTodo.id }, token);
await collected(live, 3);
const kinds = live.map((e) => e.kind).join(',');
if (kinds !== 'CREATED,UPDATED,DELETED') fail(`live kinds were ${kinds}`);
if (live.some((e) => e.todoId !== createTodo.id)) fail('an event named another todo');
if (live[0].todo?.title !== 'from js') fail('CREATED lacks its todo');
if (live[1].todo?.title !== 'renamed' || live[1].todo.version !== 2) fail('UPDATED lacks the change');
if (live[2].todo !== null) fail('DELETED carried a todo');

// A second device that saw only the first event resumes from its cursor.
const resumed = [];
const second = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: { accessToken: token },
});
await subscribe(second, { since: live[0].cursor }, (event) => resumed.push(event));
await collected(resumed, 1);
await new Promise((r) => setTimeout(r, 200));
const replayed = resumed.map((e) => `${e.kind}:${e.todoId}`).join(',');
if (replayed !== `DELETED:${createTodo.id}`) fail(`the replay after CREATED was ${replayed}`);

await client.dispose();
await second.dispose();
console.log(JSON.stringify({ ok: true, live: kinds, replayed, closes }));
process.exit(0);
