import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("a document carrying script, onerror and javascript: payloads never executes anything", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("What does the zanzibar injection test keep?");
  const answer = await demo.waitForAnswer();
  await expect(answer).toContainText("zanzibar");
  await expect(answer).toContainText("<script>"); // shown as text
  const widget = demo.widgetWindow();
  expect(await widget.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(await answer.locator("script, img, iframe, svg").count()).toBe(0);
  for (const href of await answer.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""))) {
    expect(href).toMatch(/^(https?:|mailto:|#cite-)/);
  }
  expect(dialogs).toEqual([]);
});

test("data: URLs, encoded links, style and form tags, an unbroken line and deep nesting stay inert and inside the panel", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("What does the zanzibar extremes section carry?");
  const answer = await demo.waitForAnswer();
  await expect(answer).toContainText("zanzibar");
  const widget = demo.widgetWindow();
  expect(await widget.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  // (The widget's own controls are buttons with a data-action; the answer may add none.)
  expect(await answer.locator("script, img, iframe, svg, style, form, object, embed, button:not([data-action])").count()).toBe(0);
  for (const href of await answer.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href") ?? ""))) {
    expect(href).toMatch(/^(https?:|mailto:|#cite-)/);
  }
  // The unbroken line wraps: the answer is no wider than the panel.
  const [answerWidth, bodyWidth] = await answer.evaluate((el) => [el.scrollWidth, el.ownerDocument.body.clientWidth]);
  expect(answerWidth).toBeLessThanOrEqual(bodyWidth);
  expect(dialogs).toEqual([]);
});
