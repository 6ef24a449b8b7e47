import { expect, test } from "@playwright/test";
import { DemoPage } from "./fixtures/widget";

test("a question streams an answer that grows over several frames and ends with citations", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("Which files are skipped during ingestion?");
  const answer = demo.lastAnswer();
  await expect(answer).toHaveAttribute("data-state", "streaming");
  // Sample the streaming text: it must grow in several steps before the answer is done.
  const lengths = new Set<number>();
  for (let i = 0; i < 200; i++) {
    if ((await answer.getAttribute("data-state")) === "done") break;
    lengths.add((await answer.innerText()).length);
    await page.waitForTimeout(25);
  }
  expect(lengths.size).toBeGreaterThan(3);
  await demo.waitForAnswer();
  await expect(answer).toContainText("not valid UTF-8");
  const cites = answer.getByTestId("citations");
  await expect(cites).toContainText("docs/knowledge.md");
  await expect(answer.locator("a.cite").first()).toHaveText("[1]");
  // The list follows the answer down to its sources.
  const list = demo.frame.getByTestId("messages");
  await expect
    .poll(() => list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight))
    .toBeLessThan(40);
  // Rating an answer goes to the feedback server function and shows as pressed.
  const feedback = page.waitForResponse((r) => r.url().endsWith("/api/feedback"));
  await answer.getByRole("button", { name: "Helpful", exact: true }).click();
  expect((await feedback).status()).toBe(200);
  await expect(answer.getByRole("button", { name: "Helpful", exact: true })).toHaveAttribute("aria-pressed", "true");
  // Unanswerable questions are refused plainly.
  await demo.ask("What is the boiling point of mercury on Venus?");
  await expect(demo.lastAnswer()).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(demo.lastAnswer()).toContainText("I don't know");
});

test("finished blocks arrive rendered while the answer streams, never as raw Markdown; the whole answer copies", async ({ page, context }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  const answer = demo.lastAnswer();
  await expect(answer).toHaveAttribute("data-state", "streaming");
  // The first paragraph ("According to **Security > …** [1]:") shows rendered before the end.
  const rendered = answer.locator(".op-md strong").first();
  let seenWhileStreaming = false;
  for (let i = 0; i < 400 && !seenWhileStreaming; i++) {
    const [state, strong] = await Promise.all([answer.getAttribute("data-state"), rendered.count()]);
    if (state === "done") break;
    seenWhileStreaming = strong > 0;
    // Whatever is shown, emphasis markers never are (the block in progress holds none here).
    expect(await answer.innerText()).not.toContain("**");
    await page.waitForTimeout(10);
  }
  expect(seenWhileStreaming, "a rendered block while streaming").toBe(true);
  await demo.waitForAnswer();
  expect(await answer.innerText()).not.toContain("**");
  // The whole answer copies as Markdown.
  await answer.getByTestId("copy-answer").click();
  await expect(answer.getByTestId("copy-answer")).toHaveText("Copied");
  // (The write is asynchronous.)
  await expect
    .poll(() => page.evaluate(() => navigator.clipboard.readText()))
    .toContain("**Security > Rotating provider keys**");
});

test("the list follows a streaming answer, unless the visitor scrolls up to read", async ({ page }) => {
  const demo = new DemoPage(page);
  await demo.goto();
  await demo.open();
  await demo.ask("How do I rotate the provider API key?");
  await demo.waitForAnswer();
  const list = demo.frame.getByTestId("messages");
  await demo.ask("Which files are skipped during ingestion?");
  await expect(demo.lastAnswer()).toHaveAttribute("data-state", "streaming");
  await list.evaluate((el) => {
    el.scrollTop = 0;
  });
  await demo.waitForAnswer();
  expect(await list.evaluate((el) => el.scrollTop)).toBeLessThan(40);
  // A new question brings the end back into view.
  await demo.ask("How big are the chunks?");
  await demo.waitForAnswer();
  await expect
    .poll(() => list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight))
    .toBeLessThan(40);
});
