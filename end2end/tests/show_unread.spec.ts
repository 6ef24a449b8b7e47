import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("an answer that arrives while the chat is closed shows an unread badge", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  await expect(demo.lastAnswer()).toHaveAttribute("data-state", "streaming");
  await demo.frame.getByRole("button", { name: "Close chat" }).click();
  await expect(demo.bubble).toHaveAttribute("aria-label", "Open chat, 1 unread", { timeout: 30_000 });
  await demo.bubble.click();
  await expect(demo.bubble).toHaveAttribute("aria-label", "Close chat");
  await expect(demo.lastAnswer()).toHaveAttribute("data-state", "done");
});
