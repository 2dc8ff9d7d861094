#!/usr/bin/env node
// Runs the browser tests: starts the real API (the binary given as the first argument, or
// TODO_GRAPHQL_BIN) on a fresh SQLite database in a temp directory, starts `vite preview` of
// the built app in front of it (twice: a second pair issues 6-second access tokens), runs
// every tests/*.test.mjs in headless Chromium, and stops them all. Usage: node tests/run.mjs ../../target/debug/todo-graphql   (after `npm run build`)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = resolve(here, "..");
const binary = resolve(process.argv[2] ?? process.env.TODO_GRAPHQL_BIN ?? "");
if (!process.argv[2] && !process.env.TODO_GRAPHQL_BIN) {
  console.error("usage: node tests/run.mjs PATH/TO/todo-graphql");
  process.exit(2);
}
if (!existsSync(binary)) {
  console.error(`no server binary at ${binary}`);
  process.exit(2);
}
if (!existsSync(join(appDir, "dist", "index.html"))) {
  console.error("the app is not built: run `npm run build` first");
  process.exit(2);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitFor(url, what, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within 30 s`);
}

const children = [];
function start(command, args, options, name) {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const lines = [];
  const keep = (chunk) => {
    lines.push(chunk.toString());
    if (lines.length > 200) lines.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.logTail = () => lines.join("");
  child.label = name;
  children.push(child);
  return child;
}

function stopAll() {
  for (const child of children) {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

const dataDir = mkdtempSync(join(tmpdir(), "todo-web-e2e-"));

/** The API on a fresh database and `vite preview` in front of it, each on a free port. */
async function startStack(name, serverEnv) {
  const apiPort = await freePort();
  const appPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const dir = join(dataDir, name);
  mkdirSync(dir);
  const api = start(
    binary,
    [],
    {
      env: {
        ...process.env,
        LISTEN_ADDR: `127.0.0.1:${apiPort}`,
        DATABASE_URL: `sqlite://${join(dir, "todo.db")}`,
        DATA_DIR: dir,
        CORS_ALLOWED_ORIGINS: appUrl,
        // Every browser of the suite comes from 127.0.0.1 through the proxy: one IP.
        AUTH_RATE_LIMIT_IP: "off",
        // Small, so the rate-limit test reaches it in a few attempts; each test has its own account.
        AUTH_RATE_LIMIT_ACCOUNT: "3/5m",
        RUST_LOG: process.env.RUST_LOG ?? "warn",
        ...serverEnv,
      },
    },
    `server (${name})`,
  );
  const vite = join(appDir, "node_modules", "vite", "bin", "vite.js");
  const preview = start(
    process.execPath,
    // Two previews of one project run at once here (and maybe a developer's own): no lock.
    [vite, "preview", "--port", String(appPort), "--strictPort", "--bypass-lock"],
    { cwd: appDir, env: { ...process.env, API_URL: apiUrl } },
    `vite preview (${name})`,
  );
  await waitFor(`${apiUrl}/healthz`, `the server (${name})`, api);
  await waitFor(appUrl, `vite preview (${name})`, preview);
  return { appUrl, apiUrl };
}
const started = Date.now();
let code = 1;
try {
  const main = await startStack("main", {});
  // A second pair whose access tokens live 6 s, for the test that they are renewed in time.
  const shortTtl = await startStack("short-ttl", { ACCESS_TOKEN_TTL: "6s" });

  const files = readdirSync(here)
    .filter((name) => name.endsWith(".test.mjs"))
    .sort()
    .map((name) => join(here, name));
  const filter = process.env.E2E_ONLY ? ["--test-name-pattern", process.env.E2E_ONLY] : [];
  const tests = spawn(process.execPath, ["--test", "--test-concurrency=1", ...filter, ...files], {
    stdio: "inherit",
    env: {
      ...process.env,
      APP_URL: main.appUrl,
      API_URL: main.apiUrl,
      SHORT_TTL_APP_URL: shortTtl.appUrl,
      SHORT_TTL_API_URL: shortTtl.apiUrl,
    },
  });
  code = await new Promise((r) => tests.on("exit", (status) => r(status ?? 1)));
  if (code !== 0) {
    for (const child of children) console.error(`--- last output of ${child.label} ---\n${child.logTail()}`);
  }
} catch (error) {
  console.error(error);
  for (const child of children) console.error(`--- last output of ${child.label} ---\n${child.logTail()}`);
} finally {
  stopAll();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`browser suite: ${code === 0 ? "passed" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(code);
}
