// The sessions page, revoking one session, and "log out everywhere" reaching every browser.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freshEmail, launch, logIn, openApp, signUp } from "./helpers.mjs";

describe("sessions", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test("#/sessions lists each live session, marks this one, and revokes another", async () => {
    const email = freshEmail("sessions");
    const a = await openApp(browser);
    await signUp(a.page, email);
    const b = await openApp(browser);
    await logIn(b.page, email);

    await a.page.locator('a[href="#/sessions"]').click();
    const sessions = a.page.locator("li.session");
    await sessions.nth(1).waitFor();
    assert.equal(await sessions.count(), 2);
    assert.equal(await a.page.locator("li.session.current").count(), 1);
    await a.page.locator("li.session:not(.current) button.revoke").click();
    await a.page.waitForFunction(() => document.querySelectorAll("li.session").length === 1);
    assert.equal(await a.page.locator("li.session.current").count(), 1);
    // The revoked browser is back at the auth form within seconds, by the socket's 4403.
    await b.page.locator("form.auth").waitFor({ timeout: 5000 });
    // The other stays signed in.
    await a.page.locator('a[href="#/"]').first().click();
    await a.page.locator("input.new-todo").waitFor();
    for (const s of [a, b]) await s.context.close();
  });

  test("log out everywhere sends every browser of the account back to the auth form", async () => {
    const email = freshEmail("everywhere");
    const a = await openApp(browser);
    await signUp(a.page, email);
    const b = await openApp(browser);
    await logIn(b.page, email);
    await b.page.waitForTimeout(300);

    await a.page.locator("button.logout-all").click();
    await a.page.locator("form.auth").waitFor({ timeout: 5000 });
    const started = Date.now();
    await b.page.locator("form.auth").waitFor({ timeout: 5000 });
    console.log(`the other browser showed the auth form ${Date.now() - started} ms after this one`);
    // Neither gets back in by reloading: the refresh cookies are dead.
    for (const s of [a, b]) {
      await s.page.reload();
      await s.page.locator("form.auth").waitFor();
      assert.equal(await s.page.locator("input.new-todo").count(), 0);
    }
    for (const s of [a, b]) await s.context.close();
  });

  test("logging out in one tab signs out the other tabs of the same browser", async () => {
    const { context, page } = await openApp(browser);
    await signUp(page, freshEmail("tabs"));
    const second = await context.newPage();
    await second.goto(page.url());
    await second.locator("input.new-todo").waitFor();
    await page.locator("button.logout").click();
    await page.locator("form.auth").waitFor({ timeout: 5000 });
    await second.locator("form.auth").waitFor({ timeout: 5000 });
    assert.deepEqual(await context.cookies(), [], "the refresh cookie is cleared");
    await context.close();
  });
});
