// The TodoMVC specification, behaviour by behaviour, against the real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { addTodos, eventually, freshEmail, launch, openApp, signUp, titles } from "./helpers.mjs";

describe("TodoMVC", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  async function signedIn() {
    const { context, page } = await openApp(browser);
    await signUp(page, freshEmail("mvc"));
    return { context, page };
  }

  test("with no todos the list and the footer are hidden, and the new-todo input has focus", async () => {
    const { context, page } = await signedIn();
    assert.equal(await page.locator("section.main").count(), 0);
    assert.equal(await page.locator("footer.footer").count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.className), "new-todo");
    await context.close();
  });

  test("Enter adds a trimmed todo at the end, clears the input, and ignores a blank one", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "  buy milk  ", "walk the dog");
    assert.deepEqual(await titles(page), ["buy milk", "walk the dog"]);
    assert.equal(await page.locator("input.new-todo").inputValue(), "");
    await page.locator("input.new-todo").fill("    ");
    await page.locator("input.new-todo").press("Enter");
    await page.waitForTimeout(300);
    assert.equal(await page.locator("ul.todo-list > li").count(), 2);
    assert.ok(await page.locator("section.main").isVisible());
    assert.ok(await page.locator("footer.footer").isVisible());
    await context.close();
  });

  test("the counter says how many are left in a <strong>, pluralized", async () => {
    const { context, page } = await signedIn();
    const count = page.locator("span.todo-count");
    await addTodos(page, "one");
    assert.equal(await count.innerHTML(), "<strong>1</strong> item left");
    await addTodos(page, "two");
    assert.equal(await count.innerHTML(), "<strong>2</strong> items left");
    await page.locator("ul.todo-list > li").nth(0).locator("input.toggle").check();
    await page.locator("ul.todo-list > li").nth(1).locator("input.toggle").check();
    await eventually(async () => (await count.innerHTML()) === "<strong>0</strong> items left", 5000, "0 items left");
    await context.close();
  });

  test("the toggle marks a todo completed (class on its li) and back", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "a", "b");
    const first = page.locator("ul.todo-list > li").nth(0);
    await first.locator("input.toggle").check();
    await eventually(async () => (await first.getAttribute("class")) === "completed", 5000, "completed class");
    assert.equal(await page.locator("ul.todo-list > li").nth(1).getAttribute("class"), null);
    await first.locator("input.toggle").uncheck();
    await eventually(async () => !(await first.getAttribute("class")), 5000, "completed class gone");
    await context.close();
  });

  test("toggle-all completes every todo and back, and follows the single toggles", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "a", "b", "c");
    const toggleAll = page.getByLabel("Mark all as complete");
    await toggleAll.check();
    await eventually(async () => (await page.locator("ul.todo-list > li.completed").count()) === 3, 5000, "all completed");
    assert.ok(await page.locator("input.toggle-all").isChecked());
    await page.locator("ul.todo-list > li").nth(1).locator("input.toggle").uncheck();
    await eventually(async () => !(await page.locator("input.toggle-all").isChecked()), 5000, "toggle-all unchecked");
    await page.locator("ul.todo-list > li").nth(1).locator("input.toggle").check();
    await eventually(() => page.locator("input.toggle-all").isChecked(), 5000, "toggle-all checked again");
    await toggleAll.uncheck();
    await eventually(async () => (await page.locator("ul.todo-list > li.completed").count()) === 0, 5000, "none completed");
    await context.close();
  });

  test("double-click edits; Enter and blur save trimmed, Escape cancels, blank deletes", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "first", "second", "third");
    const item = (n) => page.locator("ul.todo-list > li").nth(n);

    await item(0).locator("label").dblclick();
    assert.equal(await item(0).getAttribute("class"), "editing");
    const edit = item(0).locator("input.edit");
    assert.ok(await edit.evaluate((el) => el === document.activeElement), "the edit input has focus");
    assert.equal(await edit.inputValue(), "first");
    await edit.fill("  first, renamed  ");
    await edit.press("Enter");
    assert.deepEqual(await titles(page), ["first, renamed", "second", "third"]);
    assert.equal(await item(0).getAttribute("class"), null);

    await item(1).locator("label").dblclick();
    await item(1).locator("input.edit").fill("second, by blur");
    await page.locator("input.new-todo").focus();
    assert.deepEqual(await titles(page), ["first, renamed", "second, by blur", "third"]);

    await item(2).locator("label").dblclick();
    await item(2).locator("input.edit").fill("not this");
    await item(2).locator("input.edit").press("Escape");
    assert.deepEqual(await titles(page), ["first, renamed", "second, by blur", "third"]);
    assert.equal(await item(2).getAttribute("class"), null);

    await item(2).locator("label").dblclick();
    await item(2).locator("input.edit").fill("   ");
    await item(2).locator("input.edit").press("Enter");
    assert.deepEqual(await titles(page), ["first, renamed", "second, by blur"]);

    // What the server holds, after a reload.
    await eventually(async () => {
      await page.reload();
      await page.locator("ul.todo-list > li").nth(1).waitFor();
      return JSON.stringify(await titles(page)) === JSON.stringify(["first, renamed", "second, by blur"]);
    }, 8000, "the edits on the server");
    await context.close();
  });

  test("the destroy button removes a todo; the last one gone hides list and footer", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "keep", "drop");
    await page.locator("ul.todo-list > li").nth(1).hover();
    await page.locator("ul.todo-list > li").nth(1).locator("button.destroy").click();
    assert.deepEqual(await titles(page), ["keep"]);
    await page.locator("ul.todo-list > li").nth(0).hover();
    await page.locator("ul.todo-list > li").nth(0).locator("button.destroy").click();
    assert.equal(await page.locator("section.main").count(), 0);
    assert.equal(await page.locator("footer.footer").count(), 0);
    await context.close();
  });

  test("clear completed shows only when something is completed, and removes those", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "a", "b", "c");
    assert.equal(await page.locator("button.clear-completed").count(), 0);
    await page.locator("ul.todo-list > li").nth(0).locator("input.toggle").check();
    await page.locator("ul.todo-list > li").nth(2).locator("input.toggle").check();
    await page.locator("button.clear-completed").click();
    assert.deepEqual(await titles(page), ["b"]);
    assert.equal(await page.locator("button.clear-completed").count(), 0);
    assert.ok(!(await page.locator("input.toggle-all").isChecked()));
    await context.close();
  });

  test("filters: #/, #/active, #/completed, the selected link, and a reload keeps list and filter", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "open one", "done one", "open two");
    await page.locator("ul.todo-list > li").nth(1).locator("input.toggle").check();
    const selected = () => page.locator("ul.filters a.selected").getAttribute("href");
    // A click changes the hash and the app renders after it: wait for the render, never
    // read the page in between.
    const shows = (filter, list) =>
      eventually(
        async () => (await selected()) === filter && (await titles(page)).join() === list.join(),
        5000,
        `the ${filter} filter showing ${list.join(", ")}`,
      );
    await shows("#/", ["open one", "done one", "open two"]);

    await page.locator('ul.filters a[href="#/active"]').click();
    await shows("#/active", ["open one", "open two"]);
    // An item changed while filtered leaves the filtered list (so click: `check()` would wait
    // to see it checked).
    await page.locator("ul.todo-list > li").nth(0).locator("input.toggle").click();
    await shows("#/active", ["open two"]);

    await page.locator('ul.filters a[href="#/completed"]').click();
    await shows("#/completed", ["open one", "done one"]);

    await eventually(async () => {
      await page.reload();
      await page.locator("ul.filters a.selected").waitFor();
      return (await selected()) === "#/completed" && (await titles(page)).join() === "open one,done one";
    }, 8000, "the completed filter and list after a reload");
    assert.equal(new URL(page.url()).hash, "#/completed");

    await page.locator('ul.filters a[href="#/"]').click();
    await shows("#/", ["open one", "done one", "open two"]);
    await context.close();
  });

  test("a reload keeps the list: the state lives on the server", async () => {
    const { context, page } = await signedIn();
    await addTodos(page, "persisted 1", "persisted 2");
    await page.locator("ul.todo-list > li").nth(0).locator("input.toggle").check();
    await page.waitForFunction(() => !localStorage.length, null, { timeout: 5000 });
    await page.reload();
    await page.locator("ul.todo-list > li").nth(1).waitFor();
    assert.deepEqual(await titles(page), ["persisted 1", "persisted 2"]);
    assert.equal(await page.locator("ul.todo-list > li").nth(0).getAttribute("class"), "completed");
    // A new tab of the same browser signs in by the cookie alone.
    const other = await context.newPage();
    await other.goto(page.url());
    await other.locator("ul.todo-list > li").nth(1).waitFor();
    assert.deepEqual(await titles(other), ["persisted 1", "persisted 2"]);
    await context.close();
  });

  test("screenshot of the signed-in app for the README", { skip: !process.env.SCREENSHOT && "set SCREENSHOT=1" }, async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    await page.goto(`${process.env.APP_URL}/`);
    await signUp(page, "ada@example.com");
    await addTodos(page, "Write the GraphQL schema", "Wire up todoEvents", "Replay the offline outbox", "Ship it");
    await page.locator("ul.todo-list > li").nth(0).locator("input.toggle").check();
    await page.locator("ul.todo-list > li").nth(1).locator("input.toggle").check();
    await page.waitForFunction(() => localStorage.length === 0);
    await page.locator("input.new-todo").focus();
    await page.locator("ul.todo-list > li").nth(2).hover();
    await page.screenshot({ path: new URL("../docs/screenshot.png", import.meta.url).pathname });
    await context.close();
  });
});
