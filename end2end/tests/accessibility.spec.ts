import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

/** The serious and critical accessibility violations axe finds inside the open panel. */
async function violations(page: Page) {
  // The frame sits in the loader's shadow root.
  const results = await new AxeBuilder({ page })
    .include({ fromShadowDom: ["outpost-launcher", '[data-testid="outpost-frame"]'] })
    .analyze();
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

for (const colorScheme of ["light", "dark"] as const) {
  test(`the open panel passes axe, empty, mid-answer and with an error shown (${colorScheme})`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme });
    const page = await context.newPage();
    const demo = new DemoPage(page);
    await demo.goto();
    await demo.open();
    expect(await violations(page), "empty").toEqual([]);

    await demo.ask("How do I rotate the provider API key?");
    await expect(demo.lastAnswer()).toHaveAttribute("data-state", "streaming");
    expect(await violations(page), "mid-answer").toEqual([]);
    await demo.waitForAnswer();
    expect(await violations(page), "answered").toEqual([]);

    // The connection drops: the panel says so until it is back.
    await demo.widgetWindow().evaluate(() => (window as any).__outpostDropConnection());
    expect(await violations(page), "with an error shown").toEqual([]);
    await context.close();
  });
}

test("the panel is a labelled dialog: focus goes in on open, back to the bubble on close, Escape closes", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.bubble.focus();
  await page.keyboard.press("Enter");
  await expect(demo.frameElement).toBeVisible();
  await expect(demo.frame.getByRole("dialog", { name: "Ask Outpost" })).toBeVisible();
  await expect(demo.composer()).toBeFocused();
  await expect(demo.frame.getByRole("log", { name: "Conversation" })).toHaveAttribute("aria-live", "polite");
  // Every control is reached by Tab.
  await page.keyboard.press("Tab");
  await expect(demo.frame.getByTestId("send")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(demo.frameElement).toBeHidden();
  await expect(demo.bubble).toBeFocused();
});
