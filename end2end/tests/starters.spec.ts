import { expect, test } from "@playwright/test";
import { admin } from "./fixtures/console";
import { DemoPage, target } from "./fixtures/widget";

test("the empty panel offers the project's starter questions, and one click asks", async ({ page }) => {
  await admin("PUT", "/v1/admin/projects/demo", {
    starters: ["How do I rotate the provider API key?", "Which files are skipped <during> ingestion?"],
  });
  try {
    const demo = new DemoPage(page);
    await demo.goto();
    await demo.open();
    const starters = demo.frame.getByTestId("starters").getByRole("button");
    await expect(starters).toHaveText([
      "How do I rotate the provider API key?",
      "Which files are skipped <during> ingestion?",
    ]);
    await starters.first().click();
    await expect(demo.messages().first()).toHaveText("How do I rotate the provider API key?");
    await demo.waitForAnswer();
    await expect(demo.frame.getByTestId("starters")).toBeHidden();
  } finally {
    await admin("PUT", "/v1/admin/projects/demo", { starters: [] });
  }
});

test("more than four starters, or an empty one, are refused", async () => {
  for (const starters of [["a", "b", "c", "d", "e"], [""]]) {
    const r = await fetch(target().base + "/v1/admin/projects/demo", {
      method: "PUT",
      headers: { authorization: `Bearer ${process.env.OUTPOST_E2E_ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ starters }),
    });
    expect(r.status).toBe(400);
    expect((await r.json()).error.code).toBe("bad_request");
  }
});
