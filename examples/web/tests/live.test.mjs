// Two browsers of one account see each other's changes through todoEvents; another account
// sees nothing of them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { addTodos, freshEmail, launch, logIn, medianMax, openApp, signUp, titles } from "./helpers.mjs";

describe("live updates", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test("a change in one browser appears in the other within a second (delay measured)", async () => {
    const email = freshEmail("live");
    const a = await openApp(browser);
    await signUp(a.page, email);
    const b = await openApp(browser);
    await logIn(b.page, email);
    // Each page notes when the person commits a change (Enter or a click), by its own clock;
    // both pages run on this machine, so the clocks agree.
    for (const { page } of [a, b]) {
      await page.evaluate(() => {
        const note = () => (window.__actedAt = Date.now());
        addEventListener("keydown", (event) => event.key === "Enter" && note(), true);
        addEventListener("click", note, true);
      });
    }
    // Both sockets are following before the first change.
    await a.page.waitForTimeout(300);

    const delays = [];
    // From the commit in `from` to the moment `seen` holds in `to`, checked on every DOM
    // mutation there (the observer is in place before the action starts).
    async function timed(from, to, action, seen, arg) {
      const seenAt = to.page.evaluate(
        ([check, value]) =>
          new Promise((resolve, reject) => {
            const holds = new Function("value", `return (${check})(value)`);
            const observer = new MutationObserver(() => test());
            const timer = setTimeout(() => reject(new Error("not seen within 6 s")), 6000);
            function test() {
              if (!holds(value)) return;
              observer.disconnect();
              clearTimeout(timer);
              resolve(Date.now());
            }
            observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
            test();
          }),
        [seen.toString(), arg],
      );
      await action();
      const at = await seenAt;
      const actedAt = await from.page.evaluate(() => window.__actedAt);
      delays.push(at - actedAt);
    }
    const itemIn = (page, n) => page.locator("ul.todo-list > li").nth(n);
    const hasTitle = (title) =>
      [...document.querySelectorAll("ul.todo-list > li label")].some((label) => label.textContent === title);

    for (let n = 0; n < 5; n += 1) {
      await timed(a, b, () => addTodos(a.page, `from A ${n}`), hasTitle, `from A ${n}`);
    }
    await timed(b, a, () => addTodos(b.page, "from B"), hasTitle, "from B");
    await timed(
      a,
      b,
      () => itemIn(a.page, 0).locator("input.toggle").check(),
      () => document.querySelectorAll("ul.todo-list > li.completed").length === 1,
    );
    await timed(
      b,
      a,
      async () => {
        await itemIn(b.page, 1).locator("label").dblclick();
        await itemIn(b.page, 1).locator("input.edit").fill("renamed in B");
        await itemIn(b.page, 1).locator("input.edit").press("Enter");
      },
      hasTitle,
      "renamed in B",
    );
    await timed(
      a,
      b,
      async () => {
        await itemIn(a.page, 2).hover();
        await itemIn(a.page, 2).locator("button.destroy").click();
      },
      (title) => ![...document.querySelectorAll("ul.todo-list > li label")].some((label) => label.textContent === title),
      "from A 2",
    );
    await timed(
      b,
      a,
      () => b.page.getByLabel("Mark all as complete").check(),
      () => document.querySelectorAll("ul.todo-list > li:not(.completed)").length === 0,
    );
    assert.deepEqual(await titles(a.page), await titles(b.page));
    assert.equal(delays.length, 10);
    const { median, max } = medianMax(delays);
    console.log(`live delay between two browsers over ${delays.length} changes: median ${median} ms, max ${max} ms`);
    assert.ok(max < 1000, `every change arrived within a second (max ${max} ms)`);
    await a.context.close();
    await b.context.close();
  });

  test("another account sees nothing of the first one's todos", async () => {
    const first = freshEmail("owner");
    const a = await openApp(browser);
    await signUp(a.page, first);
    const a2 = await openApp(browser);
    await logIn(a2.page, first);
    const other = await openApp(browser);
    await signUp(other.page, freshEmail("stranger"));
    await addTodos(other.page, "mine only");

    await addTodos(a.page, "private 1", "private 2");
    // Once the owner's second browser has both, the stranger's would have too.
    await a2.page.locator("ul.todo-list > li").nth(1).waitFor({ timeout: 1000 });
    assert.deepEqual(await titles(other.page), ["mine only"]);
    await other.page.reload();
    await other.page.locator("ul.todo-list > li").first().waitFor();
    assert.deepEqual(await titles(other.page), ["mine only"]);
    assert.deepEqual(await titles(a.page), ["private 1", "private 2"]);
    for (const s of [a, a2, other]) await s.context.close();
  });

  test("after a dropped socket the list catches up, resuming todoEvents from the last cursor", async () => {
    const email = freshEmail("resume");
    const a = await openApp(browser);
    // The test stands between the page and the server's socket, so it can cut it.
    const sockets = [];
    const sinces = [];
    await a.page.routeWebSocket(/\/graphql$/, (page) => {
      const server = page.connectToServer();
      sockets.push(page);
      page.onMessage((message) => {
        const parsed = JSON.parse(String(message));
        if (parsed.type === "subscribe" && parsed.payload.query.includes("todoEvents")) {
          sinces.push(parsed.payload.variables?.since ?? null);
        }
        server.send(message);
      });
      server.onMessage((message) => page.send(message));
    });
    await signUp(a.page, email);
    const b = await openApp(browser);
    await logIn(b.page, email);
    await addTodos(b.page, "before the drop");
    await a.page.getByText("before the drop").waitFor({ timeout: 1000 });

    await sockets[0].close({ code: 1012, reason: "restarting" });
    await addTodos(b.page, "while A was away");
    await a.page.getByText("while A was away").waitFor({ timeout: 10_000 });
    assert.deepEqual(await titles(a.page), ["before the drop", "while A was away"]);
    assert.ok(sockets.length >= 2, "the app reconnected");
    const resumedFrom = sinces.at(-1);
    assert.ok(resumedFrom && resumedFrom !== sinces[0], "resubscribed from a newer cursor than the first");
    for (const s of [a, b]) await s.context.close();
  });
});
