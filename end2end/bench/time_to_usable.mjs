// Time to usable: from a click on the bubble to the widget's composer focused and accepting
// text, with the page's CPU throttled 4x (DevTools' Emulation.setCPUThrottlingRate), over 10
// opens in fresh browser contexts (nothing cached). Run by `cargo xtask bench` against a native
// `outpost serve`: node time_to_usable.mjs <demo page URL>. Prints the figure and appends it to
// $OUTPOST_BENCH_OUT / $OUTPOST_BENCH_TABLE in the benchmarks' format.
import { appendFileSync } from "node:fs";
import { chromium } from "@playwright/test";

const url = process.argv[2];
const OPENS = 10;
const RATE = 4;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const samples = [];
for (let i = 0; i < OPENS; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const bubble = page.getByTestId("outpost-bubble");
  await bubble.waitFor();
  await page.waitForLoadState("networkidle");
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: RATE });
  const composer = page.frameLocator('[data-testid="outpost-frame"]').locator("#op-input:focus");
  const started = performance.now();
  await bubble.click();
  await composer.waitFor({ timeout: 60_000 });
  samples.push(performance.now() - started);
  // It accepts text.
  await composer.pressSequentially("ok");
  await context.close();
}
await browser.close();

samples.sort((a, b) => a - b);
const pct = (p) => samples[Math.round((samples.length - 1) * p)];
const figure = {
  group: "widget",
  name: `time to usable, CPU ${RATE}x slower (click to composer)`,
  unit: "ms",
  samples: samples.length,
  p50: pct(0.5),
  p95: pct(0.95),
  p99: pct(0.99),
  value: null,
};
const pad = (s, n) => String(s).padEnd(n);
const num = (v) => v.toFixed(2).padStart(9);
const line = `${pad(figure.group, 14)} ${pad(figure.name, 58)} ${num(figure.p50)} ${num(figure.p95)} ${num(figure.p99)} ${pad("ms", 4)} n=${samples.length}`;
console.log(line);
if (process.env.OUTPOST_BENCH_OUT) appendFileSync(process.env.OUTPOST_BENCH_OUT, JSON.stringify(figure) + "\n");
if (process.env.OUTPOST_BENCH_TABLE) appendFileSync(process.env.OUTPOST_BENCH_TABLE, line + "\n");
