import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("cutting the connection mid-answer loses nothing", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  const answer = demo.lastAnswer();
  await expect(answer).toHaveAttribute("data-state", "streaming");
  await expect.poll(async () => (await answer.innerText()).length).toBeGreaterThan(40);
  await demo.widgetWindow().evaluate(() => (window as any).__outpostDropConnection());
  await demo.waitForAnswer();
  // The text streamed (deltas before and after the cut) equals the stored answer.
  const streamed = await answer.getAttribute("data-chars");
  await page.reload();
  await expect(demo.lastAnswer()).toHaveAttribute("data-state", "done");
  expect(await demo.lastAnswer().getAttribute("data-chars")).toBe(streamed);
  expect(Number(streamed)).toBeGreaterThan(100);
});
