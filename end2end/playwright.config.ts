import { defineConfig } from "@playwright/test";

// The servers are started by `cargo xtask test` (or `cargo xtask e2e`), which passes their URLs:
// the native `outpost serve` and the Worker under `wrangler dev`, each behind its own demo site.
// Every spec runs against both targets (a project each).
const targets = [
  {
    name: "native",
    metadata: {
      base: process.env.OUTPOST_E2E_BASE ?? "http://127.0.0.1:8080",
      demo: process.env.OUTPOST_E2E_DEMO ?? "http://127.0.0.1:8081",
    },
  },
  ...(process.env.OUTPOST_E2E_WORKERS_BASE
    ? [
        {
          name: "workers",
          metadata: {
            base: process.env.OUTPOST_E2E_WORKERS_BASE,
            demo: process.env.OUTPOST_E2E_WORKERS_DEMO,
          },
        },
      ]
    : []),
];

export default defineConfig({
  projects: targets,
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
  },
});
