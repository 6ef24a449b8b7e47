import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("the bubble opens to a 360x480 panel and closes back to 56x56", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  const bubble = await demo.bubble.boundingBox();
  expect(bubble?.width).toBe(56);
  expect(bubble?.height).toBe(56);
  await expect(demo.frameElement).toHaveCount(0); // no iframe until the chat is opened

  await demo.open();
  const panel = await demo.frameElement.boundingBox();
  expect(panel?.width).toBe(360);
  expect(panel?.height).toBe(480);
  await expect(demo.bubble).toHaveAttribute("aria-expanded", "true");
  await expect(demo.frame.getByRole("heading", { name: "Ask Outpost" })).toBeVisible();
  await expect(demo.composer()).toBeFocused();

  await demo.frame.getByRole("button", { name: "Close chat" }).click();
  await expect(demo.frameElement).toBeHidden();
  await expect(demo.bubble).toHaveAttribute("aria-expanded", "false");
  const after = await demo.bubble.boundingBox();
  expect(after?.width).toBe(56);
  expect(after?.height).toBe(56);
});

test("a narrow screen gets the panel full screen", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true });
  const page = await context.newPage();
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  const panel = await demo.frameElement.boundingBox();
  expect(panel).toEqual({ x: 0, y: 0, width: 375, height: 667 });
  await context.close();
});

test("on a phone the panel stays above the on-screen keyboard, and the composer does not make iOS zoom", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  // The keyboard cannot be opened headless: a visual viewport the test moves stands for it.
  await page.addInitScript(() => {
    const vv = new EventTarget() as EventTarget & { height: number; offsetTop: number; width: number };
    vv.height = 667;
    vv.offsetTop = 0;
    vv.width = 375;
    Object.defineProperty(window, "visualViewport", { value: vv });
  });
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  expect(await demo.frameElement.boundingBox()).toEqual({ x: 0, y: 0, width: 375, height: 667 });
  await page.evaluate(() => {
    const vv = window.visualViewport as any;
    vv.height = 360;
    vv.offsetTop = 20;
    vv.dispatchEvent(new Event("resize"));
  });
  expect(await demo.frameElement.boundingBox()).toEqual({ x: 0, y: 20, width: 375, height: 360 });
  const send = await demo.frame.getByTestId("send").boundingBox();
  expect(send!.y + send!.height).toBeLessThanOrEqual(380);
  expect(await demo.composer().evaluate((e) => getComputedStyle(e).fontSize)).toBe("16px");
  await context.close();
});

test("the page's hostile CSS does not reach the widget and its strict CSP is not violated", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const demo = new DemoPage(page);
  await demo.goto();
  const csp = (await page.request.get(page.url())).headers()["content-security-policy"];
  expect(csp).toContain("script-src");
  expect(csp).not.toContain("unsafe-inline");
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  await demo.waitForAnswer();
  // demo.css sets `button { width: 10px !important }` and hides iframes: neither applies.
  expect((await demo.bubble.boundingBox())?.width).toBe(56);
  await expect(demo.frameElement).toBeVisible();
  expect(violations).toEqual([]);
});

test("the loader's API opens and closes the chat", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await page.evaluate(() => (window as any).Outpost.open());
  await expect(demo.frameElement).toBeVisible();
  await page.evaluate(() => (window as any).Outpost.close());
  await expect(demo.frameElement).toBeHidden();
});
