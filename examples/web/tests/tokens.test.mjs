// Access tokens that expire while the app is open are renewed through the refresh cookie,
// over HTTP and on the socket, without the person noticing. Runs against the suite's second
// server, whose access tokens live 6 s.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { addTodos, freshEmail, launch, logIn, openApp, signUp, titles } from "./helpers.mjs";

const APP = process.env.SHORT_TTL_APP_URL;

describe("short-lived access tokens", { skip: !APP && "needs SHORT_TTL_APP_URL (tests/run.mjs)" }, () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test("past the token's expiry the app stays signed in, writes, and stays live", async () => {
    const email = freshEmail("ttl");
    const a = await openApp(browser, "/", APP);
    const closes = [];
    a.page.on("websocket", (socket) => socket.on("close", () => closes.push(Date.now())));
    await signUp(a.page, email);
    const b = await openApp(browser, "/", APP);
    await logIn(b.page, email);
    await addTodos(a.page, "before expiry");

    // Longer than one access token lives: the socket is closed 4403 at its exp and reopened.
    await a.page.waitForTimeout(8000);
    assert.ok(closes.length >= 1, "the socket was closed at the token's expiry");

    await addTodos(b.page, "from B after expiry");
    await a.page.getByText("from B after expiry").waitFor({ timeout: 3000 });
    await addTodos(a.page, "from A after expiry");
    await b.page.getByText("from A after expiry").waitFor({ timeout: 3000 });
    assert.deepEqual(await titles(a.page), ["before expiry", "from B after expiry", "from A after expiry"]);
    await a.page.reload();
    await a.page.locator("ul.todo-list > li").nth(2).waitFor();
    assert.equal(await a.page.locator("form.auth").count(), 0);
    for (const s of [a, b]) await s.context.close();
  });
});
