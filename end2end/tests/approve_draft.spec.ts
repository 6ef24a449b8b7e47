import { expect, test } from "@playwright/test";
import { ConsolePage, TelegramStub, admin, telegramMessage, unique } from "./fixtures/console";

const SECRET = "e2e-telegram-secret-0123456789abcdef";
const stub = new TelegramStub();

test.beforeAll(async () => {
  await stub.start();
});

test.afterAll(async () => {
  await stub.stop();
});

test("an operator signs in, opens the most urgent conversation, regenerates its draft with a note, approves it and sees it delivered", async ({ page }) => {
  const id = unique();
  await admin("PUT", "/v1/admin/projects/demo/channels/telegram", { bot_token: "123456:AAe2e", secret_token: SECRET });
  const password = "console passphrase " + id;
  await admin("PUT", `/v1/admin/operators/op${id}`, { password, projects: ["demo"] });
  const base = 700_000_000 + Math.floor(Math.random() * 1_000_000);
  const calm = base + 1;
  const urgent = base + 2;
  await telegramMessage("demo", SECRET, calm, `Hello (${id}), is there a way to embed the assistant on two sites?`);
  await telegramMessage("demo", SECRET, urgent, `URGENT (${id}): the widget is down on our site, customers cannot ask anything!`);

  const console = new ConsolePage(page);
  await console.login(`op${id}`, password);
  // Sorted by priority: the outage first, marked P1.
  await expect(console.item(`URGENT (${id})`)).toBeVisible({ timeout: 30_000 });
  await expect(console.item(`Hello (${id})`)).toBeVisible({ timeout: 30_000 });
  await expect(console.items.first()).toContainText(`URGENT (${id})`);
  await expect(console.items.first().getByTestId("priority")).toHaveText("P1");
  // Filters: by platform and category.
  await page.getByTestId("filter-platform").selectOption("slack");
  await expect(console.items).toHaveCount(0);
  await page.getByTestId("filter-platform").selectOption("telegram");
  await expect(console.item(`URGENT (${id})`)).toBeVisible();

  await console.open(`URGENT (${id})`);
  await expect(page.getByTestId("summary")).toContainText("the widget is down");
  await expect(console.draft()).not.toHaveValue("", { timeout: 30_000 });
  const first = await console.draft().inputValue();

  await page.getByTestId("note").fill("shorter, and say we are on it");
  await page.getByTestId("regenerate").click();
  await expect(page.getByText("with your note: shorter, and say we are on it")).toBeVisible({ timeout: 30_000 });

  const reply = `We are on it (${id}). ` + first.slice(0, 200);
  await console.draft().fill(reply);
  await page.getByTestId("approve").click();
  await expect(console.delivery()).toContainText("Delivery: sent", { timeout: 30_000 });
  await expect(console.item(`URGENT (${id})`)).toContainText("replied");
  const sent = stub.sent.filter((s) => s.chat === String(urgent));
  expect(sent.map((s) => s.text).join("")).toBe(reply.trim());
  expect(stub.sent.some((s) => s.chat === String(calm))).toBe(false);

  // Message texts are shown as text: markup from a stranger stays inert.
  await telegramMessage("demo", SECRET, base + 3, `<img src=x onerror="window.__owned=1"> (${id}) hello`);
  await expect(console.item(`(${id}) hello`)).toBeVisible({ timeout: 30_000 });
  await console.open(`(${id}) hello`);
  await expect(page.locator(".messages")).toContainText("<img src=x");
  expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
});

test("a refused send shows the platform's error, and the operator sends it again", async ({ page }) => {
  const id = unique();
  await admin("PUT", "/v1/admin/projects/demo/channels/telegram", { bot_token: "123456:AAe2e", secret_token: SECRET });
  const password = "console passphrase " + id;
  await admin("PUT", `/v1/admin/operators/retry${id}`, { password, projects: ["demo"] });
  const chat = 710_000_000 + Math.floor(Math.random() * 1_000_000);
  await telegramMessage("demo", SECRET, chat, `Blocked (${id}): how do I rotate the project secret?`);
  stub.refuseNext.add(String(chat));

  const console = new ConsolePage(page);
  await console.login(`retry${id}`, password);
  await expect(console.item(`Blocked (${id})`)).toBeVisible({ timeout: 30_000 });
  await console.open(`Blocked (${id})`);
  await expect(console.draft()).not.toHaveValue("", { timeout: 30_000 });
  await page.getByTestId("approve").click();
  await expect(console.delivery()).toContainText("bot was blocked by the user", { timeout: 30_000 });
  await expect(console.delivery()).toContainText("gave up");
  await page.getByTestId("retry-send").click();
  await expect(console.delivery()).toContainText("Delivery: sent", { timeout: 30_000 });
  expect(stub.sent.filter((s) => s.chat === String(chat))).toHaveLength(1);
});

test("a wrong password is refused with a clear message", async ({ page }) => {
  const console = new ConsolePage(page);
  await page.goto((test.info().project.metadata as { base: string }).base + "/console");
  await page.getByTestId("login-name").fill("nobody-" + unique());
  await page.getByTestId("login-password").fill("not the password");
  await page.getByTestId("login-submit").click();
  await expect(page.getByRole("alert")).toHaveText("The name or the password is wrong.");
  await expect(console.items).toHaveCount(0);
});
