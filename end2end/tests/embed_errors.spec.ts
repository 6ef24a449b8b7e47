import { expect, test, type Page } from "@playwright/test";
import { hostServer, page as hostPage, project, token, type Host } from "./fixtures/host";

/** Opens a page of `host` embedding `id` with `tok`; returns its `error` events' codes. */
async function embed(page: Page, host: Host, id: string, tok: string) {
  await page.goto(host.origin + hostPage(host, id, tok));
  await page.waitForFunction(() => (window as any).Outpost);
  await page.evaluate(() => {
    (window as any).errors = [];
    (window as any).Outpost.on("error", (e: unknown) => (window as any).errors.push(e));
  });
  await page.getByTestId("outpost-bubble").click();
  return () => page.evaluate(() => (window as any).errors.map((e: { code: string }) => e.code));
}

test("a page on an origin the project does not allow hears frame_refused", async ({ page }) => {
  const [allowed, other] = [await hostServer(), await hostServer()];
  const id = await project("errs", allowed.origin);
  const now = Math.floor(Date.now() / 1000);
  const errors = await embed(page, other, id, token({ sub: "v", project: id, aud: "outpost", exp: now + 600 }));
  await expect.poll(errors, { timeout: 20_000 }).toEqual(["frame_refused"]);
  allowed.close();
  other.close();
});

test("the error event names why a token is refused: expired, invalid, another project's", async ({ context }) => {
  const host = await hostServer();
  const id = await project("errs", host.origin);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string][] = [
    ["token_expired", token({ sub: "v", project: id, aud: "outpost", exp: now - 3600 })],
    ["invalid_token", token({ sub: "v", project: id, aud: "outpost", exp: now + 600 }, "another secret of forty characters, wrong")],
    ["wrong_project", token({ sub: "v", project: "someone-else", aud: "outpost", exp: now + 600 })],
  ];
  for (const [code, tok] of cases) {
    // A tab of its own each: the loader reopens a chat that was open in the same tab, and the
    // error could then come before the test listens.
    const page = await context.newPage();
    const errors = await embed(page, host, id, tok);
    await expect.poll(errors).toEqual([code]);
    await expect(page.frameLocator('[data-testid="outpost-frame"]').getByTestId("status")).not.toHaveText("");
  }
  host.close();
});
