import { expect, test } from "@playwright/test";
import { ConsolePage, admin, unique } from "./fixtures/console";
import { DemoPage } from "./fixtures/widget";

test("a visitor asks for a person, and the operator's reply from the console arrives in the open widget", async ({ page, context }) => {
  const id = unique();
  const password = "handoff passphrase " + id;
  await admin("PUT", `/v1/admin/operators/hand${id}`, { password, projects: ["demo"] });

  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  const question = `(${id}) Can someone check my account setup?`;
  await demo.ask(question);
  await demo.waitForAnswer();
  await demo.frame.getByTestId("handoff").click();
  await expect(demo.frame.getByTestId("handoff-notice")).toBeVisible();
  await expect(demo.frame.getByTestId("handoff")).toBeHidden();

  const consolePage = await context.newPage();
  const console = new ConsolePage(consolePage);
  await console.login(`hand${id}`, password);
  await consolePage.getByTestId("filter-platform").selectOption("widget");
  await expect(console.item(`(${id})`)).toBeVisible({ timeout: 30_000 });
  await console.open(`(${id})`);
  await expect(consolePage.locator(".messages")).toContainText(question);
  await expect(consolePage.locator(".messages")).toContainText("asked to talk to a person");
  await expect(console.draft()).not.toHaveValue("", { timeout: 30_000 });
  const reply = `Hi, this is Sam from the team (${id}). Your setup looks right.`;
  await console.draft().fill(reply);
  await consolePage.getByTestId("approve").click();
  await expect(console.delivery()).toContainText("Delivery: sent", { timeout: 30_000 });

  const team = demo.frame.locator('[data-testid="message"][data-author="operator"]');
  await expect(team).toHaveCount(1, { timeout: 30_000 });
  await expect(team).toContainText(reply);
  await expect(team).toContainText("Team");

  // After a reload the conversation, the handoff and the reply are still there.
  await page.reload();
  await expect(demo.frameElement).toBeVisible();
  await expect(demo.frame.getByTestId("handoff-notice")).toBeVisible();
  await expect(demo.frame.locator('[data-testid="message"][data-author="operator"]')).toContainText(reply);
});

test("when the documentation does not cover a question, the widget offers a person", async ({ page }) => {
  // Someone can take over: an operator answers the demo's inbox.
  await admin("PUT", `/v1/admin/operators/offer${unique()}`, { password: "offer passphrase", projects: ["demo"] });
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask(`What is the airspeed velocity of an unladen swallow? (${unique()})`);
  const answer = await demo.waitForAnswer();
  const offer = answer.getByTestId("offer-handoff");
  await expect(offer).toBeVisible();
  await offer.click();
  await expect(demo.frame.getByTestId("handoff-notice")).toBeVisible();
  await expect(demo.frame.getByTestId("offer-handoff")).toHaveCount(0);
});

test("where the project does not hand off, the widget offers no person and keeps answering", async ({ page }) => {
  await admin("PUT", `/v1/admin/operators/off${unique()}`, { password: "offer passphrase", projects: ["demo"] });
  await admin("PUT", "/v1/admin/projects/demo", { handoff: false });
  try {
    const demo = new DemoPage(page);
    await demo.goto();
    await demo.open();
    await expect(demo.frame.getByTestId("handoff")).toBeHidden();
    await demo.ask(`What is the airspeed velocity of an unladen swallow? (${unique()})`);
    const answer = await demo.waitForAnswer();
    await expect(answer.getByTestId("offer-handoff")).toHaveCount(0);
    await expect(demo.frame.getByTestId("handoff")).toBeHidden();
    await demo.ask(`How do I rotate the provider API key? (${unique()})`);
    await expect(demo.waitForAnswer()).resolves.toBeTruthy();
  } finally {
    await admin("PUT", "/v1/admin/projects/demo", { handoff: true });
  }
});
