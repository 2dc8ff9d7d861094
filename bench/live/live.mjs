// Live-update figures, from outside, over graphql-transport-ws:
//  1. latency: a todo written over HTTP on replica A, its event received on replica B;
//     EVENTS writes one after another, each waiting for its event.
//  2. memory: SOCKETS idle sockets on B, each signed in with one todoEvents subscription,
//     and B's resident memory before and after (read from /proc/PID/status).
// Usage: node live.mjs A_URL B_URL B_PID [EVENTS=1000] [SOCKETS=1000]
// Prints a markdown summary. Loopback only.
import { gql, login, open, rssKiB, signup } from './client.mjs';

const [aUrl, bUrl, bPid, eventsArg, socketsArg] = process.argv.slice(2);
const EVENTS = Number(eventsArg ?? 1000);
const SOCKETS = Number(socketsArg ?? 1000);
// The server's per-session and per-user socket limits (5 and 20).
const PER_SESSION = 5;
const PER_USER = 20;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const ms = (x) => x.toFixed(2);

// 1. Latency across replicas.
const writer = await signup(aUrl, 'latency');
let waiting = null;
const ws = await open(bUrl, writer.token, (event) => waiting?.(event));
const sinceSend = [];
const sinceCommit = [];
for (let i = 0; i < EVENTS; i++) {
  const arrived = new Promise((resolve) => {
    waiting = resolve;
  });
  const sent = performance.now();
  await gql(aUrl, 'mutation($t: String!) { createTodo(input: { title: $t }) { id } }', { t: `n${i}` }, writer.token);
  const committed = performance.now();
  await arrived;
  const received = performance.now();
  sinceSend.push(received - sent);
  sinceCommit.push(Math.max(0, received - committed));
}
ws.close();
sinceSend.sort((x, y) => x - y);
sinceCommit.sort((x, y) => x - y);

// 2. Memory per idle socket.
await new Promise((r) => setTimeout(r, 500));
const before = rssKiB(bPid);
const tokens = [];
for (let u = 0; tokens.length < SOCKETS; u++) {
  const user = await signup(aUrl, `idle${u}`);
  const sessions = [user.token];
  while (sessions.length < PER_USER / PER_SESSION) sessions.push(await login(aUrl, user.email));
  for (const token of sessions) {
    for (let s = 0; s < PER_SESSION && tokens.length < SOCKETS; s++) tokens.push(token);
  }
}
const sockets = [];
for (let i = 0; i < tokens.length; i += 50) {
  sockets.push(...(await Promise.all(tokens.slice(i, i + 50).map((t) => open(bUrl, t, () => {})))));
}
await new Promise((r) => setTimeout(r, 2000));
const after = rssKiB(bPid);
for (const s of sockets) s.close();

console.log(`| what | figure |
| --- | --- |
| write on A → event on B, from sending the mutation (${EVENTS} events) | median ${ms(percentile(sinceSend, 50))} ms, p99 ${ms(percentile(sinceSend, 99))} ms, max ${ms(sinceSend.at(-1))} ms |
| write on A → event on B, from A's answer (the commit) | median ${ms(percentile(sinceCommit, 50))} ms, p99 ${ms(percentile(sinceCommit, 99))} ms |
| B's RSS before / with ${sockets.length} idle signed-in sockets (one subscription each) | ${(before / 1024).toFixed(1)} MiB / ${(after / 1024).toFixed(1)} MiB |
| memory per idle socket | ${((after - before) / sockets.length).toFixed(1)} KiB |`);
process.exit(0);
