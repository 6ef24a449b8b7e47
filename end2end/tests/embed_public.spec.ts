import { expect, test, type Page } from "@playwright/test";
import { admin, ConsolePage } from "./fixtures/console";
import { hostServer, project, type Host } from "./fixtures/host";
import { SITE_KEY, TS_SECRET, TurnstileStub } from "./fixtures/turnstile";
import { DemoPage, target } from "./fixtures/widget";

/** A page of `host` embedding `id` with one tag and no token (as a static site does). */
function publicPage(host: Host, id: string) {
  const path = "/p" + Math.random().toString(36).slice(2);
  host.pages.set(
    path,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body><script src="${target().base}/embed.js" data-project="${id}" async></script></body></html>`,
  );
  return host.origin + path;
}

test("the demo's home embeds a public project with one tag and no token; a reload keeps the conversation", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await expect(page.locator("script[data-project]")).not.toHaveAttribute("data-token", /.*/);
  await demo.open();
  await demo.ask("Which files are skipped during ingestion?");
  await demo.waitForAnswer();
  const kept = await page.evaluate(() => localStorage.getItem("outpost:demo:visitor"));
  expect(kept).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+ \d+$/);
  // The chat was open: it reopens by itself on the next page.
  await page.reload();
  await expect(demo.frameElement).toBeVisible();
  await expect(demo.messages()).toHaveCount(2);
});

test("an expired anonymous token is renewed to the same visitor, who keeps their conversation", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How are BM25 and vector results combined?");
  await demo.waitForAnswer();
  // As if the visitor came back after the token ended (the loader renews it on the next page).
  const old = await page.evaluate(() => {
    const k = "outpost:demo:visitor";
    const [tok] = localStorage.getItem(k)!.split(" ");
    localStorage.setItem(k, tok + " " + (Date.now() - 60_000));
    return tok;
  });
  // The chat was open: it reopens by itself on the next page.
  await page.reload();
  await expect(demo.frameElement).toBeVisible();
  await expect(demo.messages()).toHaveCount(2);
  const renewed = await page.evaluate(() => localStorage.getItem("outpost:demo:visitor")!.split(" ")[0]);
  expect(renewed).not.toBe(old);
  const sub = (t: string) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString()).sub;
  expect(sub(renewed)).toBe(sub(old));
  expect(sub(renewed)).toMatch(/^anon-[0-9a-f]{32}$/);
});

test("the demo's signed page embeds the same project with a token its backend signs", async ({ page }) => {
  const demo = new DemoPage(page);
  await page.goto(target().demo + "/signed");
  await expect(page.locator("script[data-project]")).toHaveAttribute("data-token", /^ey/);
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  await demo.waitForAnswer();
});

test("a page of an origin the project does not list gets no visitor token", async ({ page }) => {
  const [allowed, other] = [await hostServer(), await hostServer()];
  const id = await project("pubweb", allowed.origin, { public: true });
  await page.goto(publicPage(other, id));
  const refused = await page.evaluate(async ({ base, id }) => {
    try {
      const r = await fetch(`${base}/v1/projects/${id}/visitor_token`, { method: "POST", body: "{}" });
      return `read ${r.status}`;
    } catch {
      return "refused";
    }
  }, { base: target().base, id });
  // The server answers 403 without CORS headers: the page cannot even read the refusal.
  expect(refused).toBe("refused");
  allowed.close();
  other.close();
});

test("a project that wants a challenge: the visitor solves it in the panel, then chats", async ({ page }) => {
  const stub = new TurnstileStub();
  await stub.start();
  try {
    const host = await hostServer();
    const id = await project("pubts", host.origin, {
      public: true,
      turnstile: { site_key: SITE_KEY, secret: TS_SECRET },
    });
    await page.goto(publicPage(host, id));
    await page.getByTestId("outpost-bubble").click();
    const frame = page.frameLocator('[data-testid="outpost-frame"]');
    await frame.getByTestId("turnstile-stub").click();
    await expect(frame.getByTestId("status")).toHaveText("", { timeout: 20_000 });
    await frame.getByTestId("composer").fill("Hello?");
    await frame.getByTestId("composer").press("Enter");
    await expect(frame.locator('[data-testid="message"][data-author="assistant"]').last()).toHaveAttribute(
      "data-state",
      "done",
      { timeout: 30_000 },
    );
    expect(stub.verified.some((v) => v.secret === TS_SECRET && v.response.startsWith("pass:"))).toBe(true);
    host.close();
  } finally {
    await stub.stop();
  }
});

test("past the project's daily budget the visitor is told politely", async ({ page }) => {
  const host = await hostServer();
  const id = await project("pubbudget", host.origin, { public: true, limits: { daily_questions: 1 } });
  await page.goto(publicPage(host, id));
  await page.getByTestId("outpost-bubble").click();
  const frame = page.frameLocator('[data-testid="outpost-frame"]');
  await expect(frame.getByTestId("status")).toHaveText("", { timeout: 20_000 });
  const ask = async (q: string) => {
    await frame.getByTestId("composer").fill(q);
    await frame.getByTestId("composer").press("Enter");
  };
  await ask("What is this?");
  await expect(frame.locator('[data-testid="message"][data-author="assistant"]').last()).toHaveAttribute(
    "data-state",
    "done",
    { timeout: 30_000 },
  );
  await expect.poll(async () => (await admin("GET", `/v1/admin/projects/${id}/usage`)).total.questions).toBe(1);
  await ask("And another thing?");
  await expect(frame.getByTestId("messages").getByText(/answered all the questions it can for today/)).toBeVisible();
  await expect.poll(async () => (await admin("GET", `/v1/admin/projects/${id}/usage`)).total.over_budget).toBe(1);
  host.close();
  // The project's operators see it in the console.
  const operator = "op" + id;
  await admin("PUT", `/v1/admin/operators/${operator}`, { password: "a long enough passphrase", projects: [id] });
  const operators = new ConsolePage(await page.context().newPage());
  await operators.login(operator, "a long enough passphrase");
  await expect(operators.page.getByTestId("budget")).toContainText("1 visitor questions were declined");
});
