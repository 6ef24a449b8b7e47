import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Page } from "@playwright/test";
import { admin, unique } from "./fixtures/console";
import { target } from "./fixtures/widget";

// Host pages on origins of their own, each a small server on loopback (a page Playwright
// fulfils itself counts as a public address, and Chromium then refuses it loopback scripts).
async function hostServer(): Promise<{ origin: string; pages: Map<string, string>; close: () => void }> {
  const pages = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(pages.get(req.url ?? "/") ?? "");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return { origin: `http://127.0.0.1:${port}`, pages, close: () => server.close() };
}

const SECRET = "embed-errors-secret-0123456789abcdefghij";

function b64url(v: unknown) {
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

/** An HS256 identity token, as a site's backend mints it. */
function token(claims: Record<string, unknown>, secret = SECRET) {
  const head = b64url({ alg: "HS256", typ: "JWT" }) + "." + b64url(claims);
  return head + "." + createHmac("sha256", secret).update(head).digest("base64url");
}

async function project(allowed: string) {
  const id = "errs" + unique();
  await admin("PUT", `/v1/admin/projects/${id}`, { secret: SECRET, allowed_origins: [allowed] });
  return id;
}

type Host = Awaited<ReturnType<typeof hostServer>>;

/** Opens a page of `host` embedding `project` with `tok`; returns its `error` events' codes. */
async function embed(page: Page, host: Host, project: string, tok: string) {
  const path = "/" + unique();
  host.pages.set(
    path,
    `<!doctype html><html><body><script src="${target().base}/embed.js" data-project="${project}" data-token="${tok}"></script></body></html>`,
  );
  await page.goto(host.origin + path);
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
  const id = await project(allowed.origin);
  const now = Math.floor(Date.now() / 1000);
  const errors = await embed(page, other, id, token({ sub: "v", project: id, aud: "outpost", exp: now + 600 }));
  await expect.poll(errors, { timeout: 20_000 }).toEqual(["frame_refused"]);
  allowed.close();
  other.close();
});

test("the error event names why a token is refused: expired, invalid, another project's", async ({ page }) => {
  const host = await hostServer();
  const id = await project(host.origin);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, string][] = [
    ["token_expired", token({ sub: "v", project: id, aud: "outpost", exp: now - 3600 })],
    ["invalid_token", token({ sub: "v", project: id, aud: "outpost", exp: now + 600 }, "another secret of forty characters, wrong")],
    ["wrong_project", token({ sub: "v", project: "someone-else", aud: "outpost", exp: now + 600 })],
  ];
  for (const [code, tok] of cases) {
    const errors = await embed(page, host, id, tok);
    await expect.poll(errors).toEqual([code]);
    await expect(page.frameLocator('[data-testid="outpost-frame"]').getByTestId("status")).not.toHaveText("");
  }
  host.close();
});
