import { expect, test, type Page } from "@playwright/test";
import { admin } from "./fixtures/console";
import { hostServer, page as hostPage, project, visitorToken, type Host } from "./fixtures/host";

let host: Host;
let id: string;

test.beforeAll(async () => {
  host = await hostServer();
  id = await project("lang", host.origin, { greeting: "Hello!" });
});

test.afterAll(() => host.close());

async function open(page: Page, attrs = "", htmlAttrs = "") {
  await page.goto(host.origin + hostPage(host, id, visitorToken(id), attrs, htmlAttrs));
  await page.getByTestId("outpost-bubble").click();
  const frame = page.frameLocator('[data-testid="outpost-frame"]');
  await expect(frame.getByTestId("status")).toHaveText("", { timeout: 20_000 });
  return frame;
}

test("data-lang chooses the panel's language", async ({ page }) => {
  const frame = await open(page, 'data-lang="de"');
  await expect(frame.getByRole("button", { name: "Chat schließen" })).toBeVisible();
  await expect(frame.getByTestId("composer")).toHaveAttribute("placeholder", "Stellen Sie eine Frage…");
  await expect(frame.getByRole("button", { name: "Senden" })).toBeVisible();
  await expect(frame.locator("html")).toHaveAttribute("lang", "de");
});

test("without data-lang, the host page's language; Arabic lays the panel out right to left", async ({ page }) => {
  const frame = await open(page, "", 'lang="ar"');
  await expect(frame.locator("html")).toHaveAttribute("dir", "rtl");
  await expect(frame.getByTestId("composer")).toHaveAttribute("placeholder", "اطرح سؤالًا…");
  // Right to left: the close button sits at the header's left end.
  const header = await frame.locator(".op-header").boundingBox();
  const close = await frame.getByTestId("close").boundingBox();
  expect(close!.x - header!.x).toBeLessThan(header!.width / 2);
});

test("without either, the browser's language", async ({ browser }) => {
  const context = await browser.newContext({ locale: "fr-FR" });
  const page = await context.newPage();
  const frame = await open(page);
  await expect(frame.getByRole("button", { name: "Fermer la discussion" })).toBeVisible();
  await context.close();
});

test("a project sets its own greeting and placeholder per language", async ({ page }) => {
  await admin("PUT", `/v1/admin/projects/${id}`, {
    locales: { es: { greeting: "¡Hola! Pregunte lo que quiera.", placeholder: "Escriba aquí…" } },
  });
  const frame = await open(page, 'data-lang="es-MX"');
  await expect(frame.locator(".op-greeting")).toHaveText("¡Hola! Pregunte lo que quiera.");
  await expect(frame.getByTestId("composer")).toHaveAttribute("placeholder", "Escriba aquí…");
  // Another language keeps the project's greeting and the language's own placeholder.
  // (A tab of its own: the loader reopens a chat that was open in the same tab.)
  const other = await open(await page.context().newPage(), 'data-lang="pt-BR"');
  await expect(other.locator(".op-greeting")).toHaveText("Hello!");
  await expect(other.getByTestId("composer")).toHaveAttribute("placeholder", "Faça uma pergunta…");
});
