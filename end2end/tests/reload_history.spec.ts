import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("a reload shows the conversation so far, and an open chat stays open", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How are BM25 and vector results combined?");
  const answer = await demo.waitForAnswer();
  const text = (await answer.textContent()) ?? "";

  await page.reload();
  await expect(demo.frameElement).toBeVisible(); // restored open
  await expect(demo.messages()).toHaveCount(2);
  await expect(demo.messages().first()).toHaveText("How are BM25 and vector results combined?");
  await expect(demo.lastAnswer()).toHaveText(text);
});
