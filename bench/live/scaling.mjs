// Scaling figures on a PostgreSQL cluster of the bench's own (bench/scaling/run makes it),
// so that filling its connections or restarting it disturbs nothing else:
//  1. connections: replicas started one by one with the default pool, each driven by a
//     burst of concurrent reads, against max_connections;
//  2. memory: a replica's resident memory idle, and with 100,000 revoked sessions loaded;
//  3. restart: PostgreSQL restarted under two replicas (A writing, B holding a live
//     subscription): how long writes fail and with what, when B hears A's writes again,
//     and whether a revocation on A still reaches B.
// Usage: node scaling.mjs BINARY PG_URL ADMIN_URL WORK_DIR RESTART_COMMAND...
// (PG_URL for the replicas, ADMIN_URL a superuser's, which keeps its reserved slots)
// Prints a markdown summary. Loopback only.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { gql, login, open, rssKiB, signup } from './client.mjs';

const [binary, pgUrl, adminUrl, work, ...restart] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rows = [];
const row = (what, figure) => rows.push(`| ${what} | ${figure} |`);

function psql(sql) {
  return execFileSync('psql', ['-X', '-tA', adminUrl, '-c', sql], { encoding: 'utf8' }).trim();
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a replica on the bench database; resolves once /readyz answers 200, or with the
 * reason it exited. */
async function replica(name, env = {}) {
  const port = await freePort();
  const dir = `${work}/${name}`;
  mkdirSync(dir, { recursive: true });
  const log = [];
  const child = spawn(binary, [], {
    env: {
      ...process.env,
      DATABASE_URL: pgUrl,
      LISTEN_ADDR: `127.0.0.1:${port}`,
      DATA_DIR: dir,
      JWT_SECRET: 'bench-only-jwt-secret-0123456789abcdef-not-for-production',
      ACCESS_TOKEN_TTL: '24h',
      AUTH_RATE_LIMIT_IP: 'off',
      AUTH_RATE_LIMIT_ACCOUNT: 'off',
      WRITE_RATE_LIMIT: 'off',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(`${dir}.log`, { flags: 'a' });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => log.push(String(d)));
    stream.pipe(file);
  }
  let exited = null;
  child.on('exit', (code) => {
    exited = code;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200 && exited === null; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return { url, child, log, ok: true };
    } catch {}
    await sleep(50);
  }
  return { url, child, log, ok: false, exited };
}

function stop(r) {
  r.child.kill('SIGTERM');
  return new Promise((resolve) => {
    if (r.child.exitCode !== null) resolve();
    else r.child.on('exit', resolve);
  });
}

const LIST = 'query { todos(first: 20) { nodes { id title } } }';

/** `n` concurrent reads; how many failed, and the distinct error codes. */
async function burst(url, token, n) {
  const codes = new Map();
  await Promise.all(
    Array.from({ length: n }, async () => {
      try {
        await gql(url, LIST, {}, token);
      } catch (e) {
        const code = /"code":"([A-Z_]+)"/.exec(String(e))?.[1] ?? 'transport';
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
  return codes;
}

const clientConnections = () =>
  Number(
    psql(
      "select count(*) from pg_stat_activity where usename = 'app'",
    ),
  );
const describe = (codes) =>
  codes.size === 0 ? 'none' : [...codes].map(([c, n]) => `${n} × ${c}`).join(', ');

// 1. Connections per replica against max_connections.
const max = Number(psql('show max_connections'));
const reserved = Number(psql('show superuser_reserved_connections'));
const first = await replica('r0');
if (!first.ok) throw new Error(`the first replica did not start: ${first.log.join('')}`);
const user = await signup(first.url, 'scaling');
const started = [first];
let refused = null;
for (let i = 1; i <= 8; i++) {
  const r = i === 1 ? first : await replica(`r${i - 1}`);
  if (i > 1) started.push(r);
  if (!r.ok) {
    refused = `replica ${i} did not start: ${r.log.join('').trim().split('\n').pop()}`;
    break;
  }
  const codes = await burst(r.url, user.token, 64);
  const held = clientConnections();
  row(`${i} replica(s) after 64 concurrent reads each: server connections`, `${held} of ${max} (${reserved} reserved); failed reads: ${describe(codes)}`);
  if (codes.size > 0) {
    refused = `replica ${i}'s reads failed (${describe(codes)})`;
    break;
  }
}
row('where it stops', refused ?? 'not reached with 8 replicas');
for (const r of started) await stop(r);

// 2. Memory: idle, and with revoked sessions loaded.
const idle = await replica('memory');
await gql(idle.url, LIST, {}, user.token);
await sleep(1000);
const idleKiB = rssKiB(idle.child.pid);
await stop(idle);
const REVOKED = 100000;
psql(
  `insert into revoked_sessions (session_id, until) select gen_random_uuid()::text, now() + interval '1 hour' from generate_series(1, ${REVOKED})`,
);
const loaded = await replica('memory');
await gql(loaded.url, LIST, {}, user.token);
await sleep(1000);
const loadedKiB = rssKiB(loaded.child.pid);
await stop(loaded);
psql('delete from revoked_sessions');
row('one replica idle (after one read): resident memory', `${(idleKiB / 1024).toFixed(1)} MiB`);
row(
  `with ${REVOKED.toLocaleString('en')} revoked sessions loaded`,
  `${(loadedKiB / 1024).toFixed(1)} MiB: ${(((loadedKiB - idleKiB) * 1024) / REVOKED).toFixed(0)} bytes per revoked session`,
);

// 3. PostgreSQL restarted under two replicas.
const a = await replica('a');
const b = await replica('b');
const writer = await signup(a.url, 'restart');
const events = [];
let closed = null;
const socket = await open(b.url, writer.token, (e) => events.push({ at: performance.now(), e }), (code) => {
  closed = code;
});
const CREATE = 'mutation($t: String!) { createTodo(input: { title: $t }) { id } }';
await gql(a.url, CREATE, { t: 'before' }, writer.token);
await sleep(200);
const heardBefore = events.length;

const failures = new Map();
let writing = true;
let firstFailure = null;
let lastFailure = null;
let lastError = null;
let writes = 0;
const writer_loop = (async () => {
  while (writing) {
    try {
      await gql(a.url, CREATE, { t: `w${writes}` }, writer.token);
    } catch (e) {
      const now = performance.now();
      firstFailure ??= now;
      lastFailure = now;
      lastError = String(e).slice(0, 300);
      const code = /"code":"([A-Z_]+)"/.exec(String(e))?.[1] ?? 'transport';
      failures.set(code, (failures.get(code) ?? 0) + 1);
    }
    writes++;
    await sleep(20);
  }
})();
await sleep(300);
const restartAt = performance.now();
// Not execFileSync: the writes and the socket must go on while PostgreSQL restarts.
await new Promise((resolve, reject) =>
  spawn(restart[0], restart.slice(1), { stdio: 'ignore' }).on('exit', (code) =>
    code === 0 ? resolve() : reject(new Error(`restart exited ${code}`)),
  ),
);
const restarted = performance.now();
let readyAgain = null;
for (let i = 0; i < 400 && readyAgain === null; i++) {
  if ((await fetch(`${a.url}/readyz`)).status === 200 && performance.now() > restarted) {
    readyAgain = performance.now();
  } else await sleep(25);
}
await sleep(3000);
writing = false;
await writer_loop;

// After the restart: does B hear a write on A, and does a revocation on A reach B?
const heardAt = events.length;
const probeAt = performance.now();
await gql(a.url, CREATE, { t: 'after' }, writer.token);
for (let i = 0; i < 200 && events.length === heardAt; i++) await sleep(10);
const heard = events.length > heardAt ? (events[heardAt].at - probeAt).toFixed(1) : null;
const resyncs = events.filter((x) => x.e.kind === 'RESYNC').length;
const victim = await login(a.url, writer.email);
await gql(b.url, 'query { me { id } }', {}, victim);
const revokedAt = performance.now();
await gql(a.url, 'mutation { logout }', {}, victim);
let refusedAfter = null;
for (let i = 0; i < 300 && refusedAfter === null; i++) {
  const response = await fetch(`${b.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${victim}` },
    body: JSON.stringify({ query: 'query { me { id } }' }),
  });
  if (response.status === 401) refusedAfter = performance.now() - revokedAt;
  else await sleep(10);
}
const closedBefore = closed;
socket.close();
await stop(a);
await stop(b);

const secs = (x) => (x / 1000).toFixed(2);
row('live event heard on B before the restart', heardBefore > 0 ? 'yes' : 'no');
row('`pg_ctlcluster restart -m fast` took', `${secs(restarted - restartAt)} s`);
row(
  'writes on A (one every 20 ms) that failed, and how',
  `${[...failures.values()].reduce((x, y) => x + y, 0)} of ${writes}: ${describe(failures)}; failing for ${firstFailure === null ? 0 : secs(lastFailure - firstFailure)} s`,
);
row('A\'s /readyz 200 again after the restart command returned', readyAgain === null ? 'not within 10 s' : `${secs(readyAgain - restarted)} s`);
row('B\'s socket across the restart', closedBefore === null ? `stayed open; ${resyncs} RESYNC event(s) sent` : `closed with ${closedBefore}`);
row('a write on A heard on B after the restart', heard === null ? 'not within 2 s' : `${heard} ms`);
row('a logout on A refused on B after the restart', refusedAfter === null ? 'not within 3 s' : `${refusedAfter.toFixed(1)} ms`);

console.log('| what | figure |\n| --- | --- |');
console.log(rows.join('\n'));
