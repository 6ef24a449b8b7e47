import { expect, test } from "@playwright/test";
import { gzipSync } from "node:zlib";
import { DemoPage, target } from "./fixtures/widget";

const LOADER_BUDGET = 3 * 1024;
const WIDGET_BUDGET = 100 * 1024;

async function gzipped(page: import("@playwright/test").Page, urls: string[]) {
  let total = 0;
  for (const url of urls) {
    const body = await (await page.request.get(url)).body();
    total += gzipSync(body, { level: 9 }).length;
  }
  return total;
}

test("the host page pays at most 3 kB gzipped until the chat opens, the widget at most 100 kB", async ({ page }) => {
  const BASE = target().base;
  const requested: string[] = [];
  page.on("request", (r) => requested.push(r.url()));
  const demo = new DemoPage(page);
  await demo.goto();
  await page.waitForLoadState("networkidle");
  const fromOutpost = requested.filter((u) => u.startsWith(BASE));
  expect(fromOutpost).toEqual([BASE + "/embed.js"]);
  const loader = await gzipped(page, fromOutpost);
  console.log(`loader: ${loader} B gzipped`);
  expect(loader).toBeLessThanOrEqual(LOADER_BUDGET);

  requested.length = 0;
  await demo.open();
  await page.waitForLoadState("networkidle");
  const assets = [...new Set(requested.filter((u) => u.startsWith(BASE + "/widget")))];
  expect(assets.some((u) => u.endsWith(".wasm"))).toBe(true);
  const widget = await gzipped(page, assets);
  console.log(`widget page: ${widget} B gzipped over ${assets.length} files`);
  expect(widget).toBeLessThanOrEqual(WIDGET_BUDGET);
});
