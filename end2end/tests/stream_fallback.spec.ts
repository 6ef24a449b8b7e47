import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("where WebSockets are blocked, the widget streams over HTTP with the same result", async ({ page, context }) => {
  // Every WebSocket to the session is refused, as by a proxy that does not pass them.
  await context.routeWebSocket(/\/socket$/, (ws) => ws.close({ code: 1011, reason: "blocked by a proxy" }));
  const events: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/events")) events.push(r.url());
  });
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.bubble.click();
  await expect(demo.frame.getByTestId("status")).toHaveText("", { timeout: 30_000 });
  await demo.ask("Which files are skipped during ingestion?");
  const answer = await demo.waitForAnswer();
  await expect(answer).toContainText("not valid UTF-8");
  await expect(answer.getByTestId("citations")).toContainText("docs/knowledge.md");
  expect(events.length).toBeGreaterThan(0);
});
