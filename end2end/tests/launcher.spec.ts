import { expect, test } from "@playwright/test";
import { hostServer, page as hostPage, project, visitorToken, type Host } from "./fixtures/host";

let host: Host;
let id: string;

test.beforeAll(async () => {
  host = await hostServer();
  id = await project("launch", host.origin, { accent: "#aa3300" });
});

test.afterAll(() => host.close());

test("the launcher sits where the site says, with its label, and takes the project's accent", async ({ page }) => {
  await page.setViewportSize({ width: 1000, height: 700 });
  const path = hostPage(host, id, visitorToken(id), 'data-position="left" data-offset-x="32" data-offset-y="40" data-label="Ask our docs"');
  await page.goto(host.origin + path);
  const bubble = page.getByTestId("outpost-bubble");
  await expect(bubble).toBeVisible();
  expect(await bubble.boundingBox()).toEqual({ x: 32, y: 700 - 40 - 56, width: 56, height: 56 });
  const label = page.getByText("Ask our docs");
  await expect(label).toBeVisible();
  const box = (await label.boundingBox())!;
  expect(box.x).toBeGreaterThan(32 + 56);
  // The label opens the chat, and hides while it is open.
  await label.click();
  const frame = page.getByTestId("outpost-frame");
  await expect(frame).toBeVisible();
  await expect(label).toBeHidden();
  expect((await frame.boundingBox())!.x).toBe(32);
  // The widget tells the loader the project's accent; the site's next pages start with it.
  await expect(bubble).toHaveCSS("background-color", "rgb(170, 51, 0)");
  await page.reload();
  await expect(page.getByTestId("outpost-bubble")).toHaveCSS("background-color", "rgb(170, 51, 0)");
});

test("data-color wins over the project's accent", async ({ page }) => {
  await page.goto(host.origin + hostPage(host, id, visitorToken(id), 'data-color="#123456"'));
  await expect(page.getByTestId("outpost-bubble")).toHaveCSS("background-color", "rgb(18, 52, 86)");
});

test("opening animates, unless the visitor prefers reduced motion", async ({ browser }) => {
  for (const [reducedMotion, animated] of [["no-preference", true], ["reduce", false]] as const) {
    const context = await browser.newContext({ reducedMotion });
    const page = await context.newPage();
    await page.goto(host.origin + hostPage(host, id, visitorToken(id)));
    await page.getByTestId("outpost-bubble").click();
    const frame = page.getByTestId("outpost-frame");
    await expect(frame).toBeVisible();
    const duration = await frame.evaluate((e) => getComputedStyle(e).transitionDuration);
    expect(duration.split(",").some((d) => parseFloat(d) > 0), duration).toBe(animated);
    await expect(frame).toHaveCSS("opacity", "1");
    await context.close();
  }
});
