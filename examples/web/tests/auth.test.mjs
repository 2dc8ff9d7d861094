// Signing up and in through form.auth, its errors, and where the tokens live.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { addTodos, freshEmail, launch, logIn, openApp, PASSWORD, signUp, tryAuth } from "./helpers.mjs";

describe("auth", () => {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  test("signed out, the app shows form.auth; sign-up leads to the todos, and login works afterwards", async () => {
    const email = freshEmail("signup");
    const { context, page } = await openApp(browser);
    await page.locator("form.auth").waitFor();
    assert.equal(await page.locator("input.new-todo").count(), 0);
    await signUp(page, email);
    assert.ok(await page.locator("footer.info").getByText(email).isVisible());
    await page.locator("button.logout").click();
    await page.locator("form.auth").waitFor();
    // Logged out: a reload stays signed out (the cookie was cleared).
    await page.reload();
    await page.locator("form.auth").waitFor();
    await logIn(page, email);
    await context.close();
  });

  test("a wrong password is shown in .auth-error", async () => {
    const email = freshEmail("wrong");
    const { context, page } = await openApp(browser);
    await signUp(page, email);
    await page.locator("button.logout").click();
    await tryAuth(page, "login", email, "not the password at all");
    const error = page.locator(".auth-error");
    await error.waitFor();
    assert.match(await error.textContent(), /wrong email or password/i);
    assert.equal(await page.locator("input.new-todo").count(), 0);
    await context.close();
  });

  test("a weak password at sign-up is shown in .auth-error", async () => {
    const { context, page } = await openApp(browser);
    await tryAuth(page, "signup", freshEmail("weak"), "short");
    const error = page.locator(".auth-error");
    await error.waitFor();
    assert.match(await error.textContent(), /password/i);
    assert.equal(await page.locator("input.new-todo").count(), 0);
    await context.close();
  });

  test("too many failed logins are shown in .auth-error with the wait", async () => {
    // The suite's server runs with AUTH_RATE_LIMIT_ACCOUNT=3/5m.
    const email = freshEmail("limited");
    const { context, page } = await openApp(browser);
    await signUp(page, email);
    await page.locator("button.logout").click();
    await page.locator("form.auth").waitFor();
    const error = page.locator(".auth-error");
    let text = "";
    for (let attempt = 0; attempt < 6 && !/try again/i.test(text); attempt += 1) {
      await tryAuth(page, "login", email, `wrong password ${attempt}`);
      await error.waitFor();
      await page.waitForFunction(() => !document.querySelector("button[name=login]")?.disabled);
      text = await error.textContent();
    }
    assert.match(text, /too many attempts\. try again in (\d+) seconds/i);
    const wait = Number(/(\d+) seconds/.exec(text)[1]);
    assert.ok(wait > 0 && wait <= 300, `a wait of ${wait} s`);
    // The right password is refused too while the account is limited.
    await tryAuth(page, "login", email, PASSWORD);
    await page.waitForFunction(() => !document.querySelector("button[name=login]")?.disabled);
    assert.match(await error.textContent(), /try again in \d+ seconds/i);
    await context.close();
  });

  test("no token in localStorage, sessionStorage or a script-readable cookie; the refresh cookie is HttpOnly", async () => {
    const { context, page } = await openApp(browser);
    await signUp(page, freshEmail("storage"));
    await addTodos(page, "a todo");
    await page.reload();
    await page.locator("ul.todo-list > li").first().waitFor();
    const seen = await page.evaluate(() => ({
      cookie: document.cookie,
      local: Object.entries(localStorage),
      session: Object.entries(sessionStorage),
    }));
    assert.equal(seen.cookie, "");
    assert.deepEqual(seen.session, []);
    const jwt = /eyJ[\w-]+\.[\w-]+\./;
    for (const [key, value] of seen.local) assert.doesNotMatch(`${key}=${value}`, jwt);
    assert.doesNotMatch(JSON.stringify(seen.local), /token/i);
    const cookies = await context.cookies();
    assert.deepEqual(cookies.map((c) => c.name), ["__Host-refresh_token"]);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, "Strict");
    await context.close();
  });
});
