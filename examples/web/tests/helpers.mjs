// Shared by the browser tests: one headless Chromium, fresh accounts, and a GraphQL client
// that checks the server's side of things directly.
import { chromium } from "playwright-core";

export const APP_URL = process.env.APP_URL;
export const API_URL = process.env.API_URL;
if (!APP_URL || !API_URL) throw new Error("run the browser tests through tests/run.mjs");

/** A password the server accepts. */
export const PASSWORD = "correct horse battery";

let counter = 0;
/** A fresh email for each account a test makes. */
export function freshEmail(tag) {
  counter += 1;
  return `${tag}-${process.pid}-${counter}-${Date.now()}@example.com`;
}

/** Starts headless Chromium from the system package (no browser download). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A new browser context (its own cookie jar and storage: another device) with a page on the app. */
export async function openApp(browser, path = "/", appUrl = APP_URL) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(appUrl + path);
  return { context, page };
}

async function submitAuth(page, button, email, password) {
  await page.locator("form.auth input[name=email]").fill(email);
  await page.locator("form.auth input[name=password]").fill(password);
  await page.locator(`form.auth button[name=${button}]`).click();
}

/** Signs up through the form and waits for the todo app. */
export async function signUp(page, email, password = PASSWORD) {
  await submitAuth(page, "signup", email, password);
  await page.locator("input.new-todo").waitFor();
}

/** Logs in through the form and waits for the todo app. */
export async function logIn(page, email, password = PASSWORD) {
  await submitAuth(page, "login", email, password);
  await page.locator("input.new-todo").waitFor();
}

/** Fills the form and presses a button, without expecting success. */
export const tryAuth = submitAuth;

/** Adds todos through the new-todo input. */
export async function addTodos(page, ...titles) {
  for (const title of titles) {
    const before = await page.locator("ul.todo-list > li").count();
    await page.locator("input.new-todo").fill(title);
    await page.locator("input.new-todo").press("Enter");
    await page.locator("ul.todo-list > li").nth(before).waitFor();
  }
}

/** The titles of the listed todos, in order. */
export function titles(page) {
  return page.locator("ul.todo-list > li label").allTextContents();
}

/** Polls `check` (an async function returning true when done) for at most `ms`. */
export async function eventually(check, ms = 5000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${ms} ms${last ? `: ${last}` : ""}`);
}

/** GraphQL over HTTP straight to the server, as another device of the account would. */
export async function gql(token, query, variables = {}) {
  const response = await fetch(`${API_URL}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return response.json();
}

/** Logs in over the API (a session of its own) and returns its access token. */
export async function apiLogin(email, password = PASSWORD) {
  const body = await gql(null, "mutation($i: LoginInput!) { login(input: $i) { accessToken } }", {
    i: { email, password },
  });
  if (!body.data) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
  return body.data.login.accessToken;
}

/** Every todo of the account, as the server has them. */
export async function serverTodos(token) {
  const body = await gql(token, "{ todos(first: 100, orderBy: { field: CREATED_AT, direction: ASC }) { nodes { id title completed version } } }");
  if (!body.data) throw new Error(`todos failed: ${JSON.stringify(body.errors)}`);
  return body.data.todos.nodes;
}

/** The median and the largest of some numbers. */
export function medianMax(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, max: sorted.at(-1) };
}
