import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startBackend } from "../../worker/local/backend.ts";
import { type Runtime, startRuntime } from "../../worker/local/runtime.ts";
import { VALID_PAYLOADS } from "../support/payloads.ts";
import { launchChromium } from "./chromium.ts";

const PRODUCER = "browser-producer-token-1a2b3c";
const OPERATOR = "browser-operator-token-4d5e6f";
/** Every page the tests visit, as the browser rendered it. */
const SCREENSHOTS = join(import.meta.dirname, "..", "output", "console");

let backend: Backend;
let runtime: Runtime;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let state: string;
let attacker: Server;

const tenant = `tenant_${Date.now().toString(36)}`;
const otp = "864209";
const ids = {
  masked: "evt_console_masked",
  discard: "evt_console_discard",
  bulk: ["evt_bulk_1", "evt_bulk_2", "evt_bulk_3"],
};

async function dispatchDead(id: string, name: "email/reset-password" | "email/verification", extra = {}) {
  backend.addFault({ eventId: id, status: 422, count: 1 });
  const payload = { ...VALID_PAYLOADS[name].payload, tenantId: tenant, ...extra };
  const response = await fetch(`${runtime.url}/dispatch`, {
    method: "POST",
    headers: { authorization: `Bearer ${PRODUCER}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [{ id, idempotencyKey: id, event: { name, data: payload } }] }),
  });
  expect(response.status).toBe(200);
}

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stateOf(id: string): Promise<string | undefined> {
  const response = await fetch(`${runtime.url}/failed-events/${id}`, {
    headers: { authorization: `Bearer ${OPERATOR}` },
  });
  return response.ok ? ((await response.json()) as { status: string }).status : undefined;
}

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const callsFor = (id: string) => backend.calls.filter((c) => c.eventId === id && c.status !== 0);

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  backend = await startBackend({ token: PRODUCER });
  state = await mkdtemp(join(tmpdir(), "jobs-console-"));
  runtime = await startRuntime({
    authToken: PRODUCER,
    operatorToken: OPERATOR,
    backendUrl: backend.url,
    persistTo: state,
    retryDelayScale: 0.001,
    onLog: () => {},
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  // A page on another origin that posts to the console, as a malicious site would.
  attacker = createServer((_, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<form id="f" method="post" action="${runtime.url}/console/events/${ids.discard}/discard">
      <input name="csrf" value="guess"></form><script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));

  await dispatchDead(ids.masked, "email/reset-password", { otpCode: otp });
  await dispatchDead(ids.discard, "email/verification");
  for (const id of ids.bulk) await dispatchDead(id, "email/verification");
  for (const id of [ids.masked, ids.discard, ...ids.bulk])
    await waitUntil(async () => (await stateOf(id)) === "dead", `${id} dead`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.close();
  await backend?.close();
  await new Promise((resolve) => attacker?.close(resolve));
  await rm(state, { recursive: true, force: true });
});

describe("console in a real browser", () => {
  it("refuses a wrong token with an error on the page and sets no cookie", async () => {
    await page.goto(`${runtime.url}/console`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await shot("sign-in");
    await page.getByLabel("Operator token").fill(PRODUCER);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").textContent()).resolves.toBe("That is not an operator token.");
    expect(await context.cookies()).toEqual([]);
  });

  it("signs in with the operator token: an HttpOnly, SameSite=Strict, expiring session cookie", async () => {
    await page.getByLabel("Operator token").fill(OPERATOR);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${runtime.url}/console`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "jobs_console", httpOnly: true, sameSite: "Strict", path: "/" });
    // Secure outside localhost: test/worker/console.test.ts checks it on an https origin.
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000 + 7 * 3600);
    expect(cookie?.value).not.toContain(OPERATOR);
    await expect(page.getByRole("heading", { name: "Overview" }).isVisible()).resolves.toBe(true);
    const dead = page.locator(".card", { hasText: "dead" });
    expect(Number(await dead.locator("b").textContent())).toBeGreaterThanOrEqual(5);
    await expect(page.locator("figure svg").getAttribute("aria-label")).resolves.toMatch(/\d+ dead/);
    await shot("overview");
  });

  it("lists failed events with filters, each row linking to its event", async () => {
    await page.getByRole("link", { name: "Failed events" }).click();
    await page.getByLabel("State").selectOption("dead");
    await page.getByLabel("Event", { exact: true }).selectOption("email/verification");
    await page.getByLabel("Tenant").fill(tenant);
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("tbody tr");
    await expect(rows.count()).resolves.toBe(4);
    expect(await rows.locator("td:first-child").allTextContents()).toEqual(
      expect.arrayContaining([ids.discard, ...ids.bulk]),
    );
    expect(new URL(page.url()).searchParams.get("tenant")).toBe(tenant);
    await shot("failed-events");
    await page.getByLabel("Event", { exact: true }).selectOption("email/reset-password");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(rows.locator("td:first-child").allTextContents()).resolves.toEqual([ids.masked]);
  });

  it("shows an event with its secrets masked, its steps and its attempts", async () => {
    await page.getByRole("link", { name: ids.masked }).click();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(`Event ${ids.masked}`);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).not.toContain(otp);
    expect(text).toContain('"otpCode": "••••••"');
    expect(text).toContain("email/reset-password: not performed");
    expect(text).toMatch(/workflow · email\/reset-password · dead/);
    expect(text).toContain("HTTP 422");
    await expect(page.locator('.states li[aria-current="step"]').textContent()).resolves.toBe("dead");
    await shot("event");
  });

  it("replays after a confirmation, and the backend then receives the call", async () => {
    const before = callsFor(ids.masked).length;
    await page.getByRole("link", { name: "Replay…" }).click();
    await shot("confirm-replay");
    await page.getByRole("button", { name: "Replay this event" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toBe("Replay: done.");
    await waitUntil(() => callsFor(ids.masked).some((c) => c.status === 200), "the replayed call");
    expect(callsFor(ids.masked).length).toBe(before + 1);
    // The backend got the original, not the mask.
    expect(JSON.parse(callsFor(ids.masked).at(-1)?.body ?? "{}").otpCode).toBe(otp);
    await waitUntil(async () => (await stateOf(ids.masked)) === "delivered", "delivered");
  });

  it("refuses a cross-site POST: nothing changes", async () => {
    const other = await context.newPage();
    const { port } = attacker.address() as AddressInfo;
    await other.goto(`http://127.0.0.1:${port}/`);
    await other.waitForURL(`${runtime.url}/console/events/${ids.discard}/discard`);
    await expect(other.getByRole("alert").textContent()).resolves.toBe(
      "Refused: this form was not sent from the console itself.",
    );
    await other.screenshot({ path: join(SCREENSHOTS, "refused.png"), fullPage: true });
    await other.close();
    expect(await stateOf(ids.discard)).toBe("dead");
  });

  it("discards after a confirmation", async () => {
    await page.goto(`${runtime.url}/console/events/${ids.discard}`);
    await page.getByRole("link", { name: "Discard…" }).click();
    await page.getByRole("button", { name: "Discard this event" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toBe("Discard: done.");
    expect(await stateOf(ids.discard)).toBe("discarded");
    await expect(page.locator('.states li[aria-current="step"]').textContent()).resolves.toBe("discarded");
  });

  it("bulk-replays by filter: a dry-run preview first, then exactly those events", async () => {
    await page.getByRole("link", { name: "Bulk replay" }).click();
    await shot("bulk-replay");
    await page.getByLabel("Tenant").fill(tenant);
    await page.getByLabel("Event", { exact: true }).selectOption("email/verification");
    await page.getByRole("button", { name: "Preview" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toBe("These 3 events will be replayed.");
    // The dry run changed nothing.
    for (const id of ids.bulk) expect(await stateOf(id)).toBe("dead");
    await shot("bulk-preview");
    await page.getByRole("button", { name: "Replay these 3 events" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toBe("Replayed 3 of 3 events.");
    await shot("bulk-done");
    for (const id of ids.bulk)
      await waitUntil(() => callsFor(id).some((c) => c.status === 200), `${id} replayed`);
  });

  it("looks up any event id as its producer sees it", async () => {
    await page.getByRole("link", { name: "Look up" }).click();
    await page.getByLabel("Event id").fill(ids.masked);
    await page.getByRole("button", { name: "Look up" }).click();
    await expect(page.locator("main p b").first().textContent()).resolves.toBe("complete");
    await shot("lookup");
  });

  it("is readable at 375 px wide and usable by keyboard", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ["/console", "/console/failed", `/console/events/${ids.masked}`]) {
      await page.goto(`${runtime.url}${path}`);
      expect(await page.evaluate("document.documentElement.scrollWidth"), path).toBeLessThanOrEqual(375);
    }
    await shot("overview-375");
    await page.keyboard.press("Tab");
    await expect(page.evaluate("document.activeElement?.textContent")).resolves.toBe("Skip to content");
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it("signs out: the session is gone", async () => {
    await page.goto(`${runtime.url}/console`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${runtime.url}/console/sign-in`);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${runtime.url}/console/failed`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
  });
});
