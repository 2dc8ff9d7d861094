// Writes made offline are kept, shown, and sent exactly once when the browser is back; an
// edit that lost to another device's is shown as a conflict.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  addTodos,
  apiLogin,
  eventually,
  freshEmail,
  launch,
  logIn,
  openApp,
  serverTodos,
  signUp,
  titles,
} from "./helpers.mjs";

describe("offline", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  const outboxEmpty = (page) => page.waitForFunction(() => localStorage.length === 0, null, { timeout: 10_000 });

  test("adds and edits made offline are shown, kept, and replayed exactly once", async () => {
    const email = freshEmail("offline");
    const { context, page } = await openApp(browser);
    await signUp(page, email);
    await addTodos(page, "online before");
    await outboxEmpty(page);
    const token = await apiLogin(email);
    const [before] = await serverTodos(token);

    await context.setOffline(true);
    await addTodos(page, "made offline");
    const item = (n) => page.locator("ul.todo-list > li").nth(n);
    await item(0).locator("label").dblclick();
    await item(0).locator("input.edit").fill("edited offline");
    await item(0).locator("input.edit").press("Enter");
    await item(1).locator("input.toggle").check();
    assert.deepEqual(await titles(page), ["edited offline", "made offline"]);
    assert.equal(await item(1).getAttribute("class"), "completed");
    // Kept for the reload-proof outbox, and nothing reached the server.
    assert.ok(await page.evaluate(() => localStorage.length > 0));
    await page.waitForTimeout(500);
    assert.deepEqual((await serverTodos(token)).map((t) => t.title), ["online before"]);

    await context.setOffline(false);
    await outboxEmpty(page);
    // Give a duplicate replay, if there were one, time to land before counting.
    await page.waitForTimeout(500);
    const after = await serverTodos(token);
    assert.equal(after.filter((t) => t.title === "made offline").length, 1, "exactly one todo made offline");
    assert.equal(after.length, 2);
    const edited = after.find((t) => t.id === before.id);
    assert.equal(edited.title, "edited offline");
    assert.equal(edited.version, before.version + 1, "the offline edit was applied once");
    const made = after.find((t) => t.title === "made offline");
    assert.equal(made.completed, true);
    assert.equal(made.version, 1, "created completed in one write");
    assert.deepEqual(await titles(page), ["edited offline", "made offline"]);
    await context.close();
  });

  test("a write whose answer was lost is sent again and applied once", async () => {
    const email = freshEmail("lost");
    const { context, page } = await openApp(browser);
    await signUp(page, email);
    // The first createTodo and the first updateTodo reach the server, but their answers
    // never come back: the app cannot tell that from a request that was never delivered.
    const lost = new Set();
    await context.route("**/graphql", async (route) => {
      const body = route.request().postData() ?? "";
      const operation = /mutation (CreateTodo|UpdateTodo)\b/.exec(body)?.[1];
      if (operation && !lost.has(operation)) {
        lost.add(operation);
        await route.fetch();
        await route.abort("connectionreset");
        return;
      }
      await route.continue();
    });
    await addTodos(page, "sent twice");
    await outboxEmpty(page);
    assert.deepEqual(await titles(page), ["sent twice"], "the replayed create made no second todo");
    await page.locator("ul.todo-list > li label").dblclick();
    await page.locator("ul.todo-list > li input.edit").fill("renamed twice");
    await page.locator("ul.todo-list > li input.edit").press("Enter");
    await outboxEmpty(page);
    assert.deepEqual([...lost].sort(), ["CreateTodo", "UpdateTodo"]);

    const token = await apiLogin(email);
    const todos = await serverTodos(token);
    assert.deepEqual(todos.map((t) => [t.title, t.version]), [["renamed twice", 2]]);
    assert.deepEqual(await titles(page), ["renamed twice"]);
    assert.equal(await page.locator(".conflict, .sync-error").count(), 0, "a replay of our own edit is no conflict");
    await context.close();
  });

  test("the outbox survives a reload while the server is unreachable", async () => {
    const email = freshEmail("outbox");
    const { context, page } = await openApp(browser);
    await signUp(page, email);
    // The page is up but the API is not (a server restart, a flaky proxy).
    await context.route("**/graphql", (route) => route.abort("connectionrefused"));
    await addTodos(page, "survives the reload");
    await page.reload();
    await page.locator(".auth-error").getByText("cannot be reached").waitFor();
    // The server is back: the app notices by itself, signs in by the cookie, sends the outbox.
    await context.unroute("**/graphql");
    await page.locator("ul.todo-list > li").first().waitFor({ timeout: 10_000 });
    await outboxEmpty(page);
    const token = await apiLogin(email);
    await eventually(async () => (await serverTodos(token)).length === 1, 5000, "the replayed todo");
    assert.deepEqual((await serverTodos(token)).map((t) => t.title), ["survives the reload"]);
    await context.close();
  });

  test("offline edits that another device overtook are shown as conflicts, not dropped silently", async () => {
    const email = freshEmail("conflict");
    const a = await openApp(browser);
    await signUp(a.page, email);
    await addTodos(a.page, "shared", "doomed");
    await outboxEmpty(a.page);
    const b = await openApp(browser);
    await logIn(b.page, email);
    await b.page.locator("ul.todo-list > li").nth(1).waitFor();
    const item = (page, n) => page.locator("ul.todo-list > li").nth(n);

    await a.context.setOffline(true);
    await item(a.page, 0).locator("label").dblclick();
    await item(a.page, 0).locator("input.edit").fill("A's offline title");
    await item(a.page, 0).locator("input.edit").press("Enter");
    await item(a.page, 1).locator("input.toggle").check();

    await item(b.page, 0).locator("label").dblclick();
    await item(b.page, 0).locator("input.edit").fill("B's title");
    await item(b.page, 0).locator("input.edit").press("Enter");
    await item(b.page, 1).hover();
    await item(b.page, 1).locator("button.destroy").click();
    await outboxEmpty(b.page);

    await a.context.setOffline(false);
    const conflicts = a.page.locator(".conflict");
    await conflicts.nth(1).waitFor({ timeout: 10_000 });
    const messages = (await conflicts.allTextContents()).join("\n");
    assert.match(messages, /“shared” was changed on another device \(now “B's title”\), so your change to “A's offline title” was not saved/);
    assert.match(messages, /“doomed” was deleted on another device/);
    await eventually(async () => (await titles(a.page)).join() === "B's title", 5000, "B's state shown in A");
    const token = await apiLogin(email);
    const todos = await serverTodos(token);
    assert.deepEqual(todos.map((t) => [t.title, t.version, t.completed]), [["B's title", 2, false]]);
    await a.page.locator(".conflict button.dismiss").first().click();
    assert.equal(await a.page.locator(".conflict").count(), 1);
    for (const s of [a, b]) await s.context.close();
  });
});
