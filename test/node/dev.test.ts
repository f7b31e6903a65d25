import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Call } from "../../worker/local/backend-api.ts";

/**
 * Drives `npm run dev` exactly as the README's quick start does, with the README's own curl
 * example, so the documented commands cannot silently stop working.
 */
const root = join(import.meta.dirname, "..", "..");
let dev: ChildProcess;
let output = "";
let state: string;
let worker: string;
let backend: string;
let example: { token: string; body: string };

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

async function readmeExample() {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const block = readme.split("<!-- dispatch-example -->")[1] ?? "";
  const token = /Authorization: Bearer (\S+?)"/.exec(block)?.[1];
  const body = /<<'JSON'\n([\s\S]*?)\nJSON\n/.exec(block)?.[1];
  if (!token || !body) throw new Error("README dispatch example not found");
  return { token, body };
}

beforeAll(async () => {
  example = await readmeExample();
  state = await mkdtemp(join(tmpdir(), "jobs-dev-"));
  const [port, backendPort] = [await freePort(), await freePort()];
  worker = `http://127.0.0.1:${port}`;
  backend = `http://127.0.0.1:${backendPort}`;
  dev = spawn("npm", ["run", "dev"], {
    cwd: root,
    env: {
      ...process.env,
      AUTH_TOKEN: example.token,
      PORT: String(port),
      BACKEND_PORT: String(backendPort),
      STATE_DIR: state,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  dev.stdout?.on("data", (chunk) => (output += chunk));
  dev.stderr?.on("data", (chunk) => (output += chunk));
  await until(() => output.includes("worker   http://"), 60_000, "npm run dev did not start");
}, 90_000);

afterAll(async () => {
  if (dev.exitCode === null) dev.kill("SIGKILL");
  await rm(state, { recursive: true, force: true });
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, message: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${message}\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const send = () =>
  fetch(`${worker}/dispatch`, {
    method: "POST",
    headers: { authorization: `Bearer ${example.token}`, "content-type": "application/json" },
    body: example.body,
  });

const calls = async (): Promise<Call[]> => {
  const response = await fetch(`${backend}/control/calls`, {
    headers: { authorization: `Bearer ${example.token}` },
  });
  return ((await response.json()) as { calls: Call[] }).calls;
};

it("delivers the README example to the reference backend with every contract header", async () => {
  const response = await send();
  expect(response.status).toBe(200);
  const first = (await response.json()) as { ids: string[]; instances: { status: string }[] };
  expect(first).toEqual({
    ids: ["evt_readme_01", "evt_readme_02"],
    instances: [
      { id: "evt_readme_01", name: "email/reset-password", status: "queued" },
      { id: "evt_readme_02", name: "payment/process-payout", status: "queued" },
    ],
  });
  await until(async () => (await calls()).length === 4, 20_000, "backend did not receive 4 calls");
  expect(
    (await calls()).map(({ path, eventId, traceId, idempotencyKey, tenantId, authorized, status }) => ({
      path,
      eventId,
      traceId,
      idempotencyKey,
      tenantId,
      authorized,
      status,
    })),
  ).toEqual(
    expect.arrayContaining([
      {
        path: "email/reset-password",
        eventId: "evt_readme_01",
        traceId: "trace-readme-01",
        idempotencyKey: "evt_readme_01:email/reset-password",
        tenantId: "tenant_42",
        authorized: true,
        status: 200,
      },
      ...["payment/validate-payout", "payment/process-payout", "payment/notify-payout-status"].map(
        (path) => ({
          path,
          eventId: "evt_readme_02",
          traceId: "evt_readme_02",
          idempotencyKey: `evt_readme_02:${path}`,
          tenantId: "tenant_42",
          authorized: true,
          status: 200,
        }),
      ),
    ]),
  );
  const payout = (await calls()).filter((c) => c.eventId === "evt_readme_02").map((c) => c.path);
  expect(payout).toEqual([
    "payment/validate-payout",
    "payment/process-payout",
    "payment/notify-payout-status",
  ]);
  expect(output).toContain(
    "[backend] 200 POST /workflows/execute/email/reset-password event=evt_readme_01 trace=trace-readme-01 key=evt_readme_01:email/reset-password tenant=tenant_42 auth=ok",
  );

  // The same batch again: the same ids, each saying where its event is now (delivered), and
  // nothing new reaches the backend.
  const again = (await (await send()).json()) as typeof first;
  expect(again).toEqual({
    ...first,
    instances: first.instances.map((i) => ({ ...i, status: "complete" })),
  });
  await new Promise((r) => setTimeout(r, 1000));
  expect(await calls()).toHaveLength(4);
});

/** The README's cancel example: its commands, one per entry, continuation lines joined. */
async function readmeCommands(marker: string): Promise<string[]> {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const block = /```sh\n([\s\S]*?)```/.exec(readme.split(marker)[1] ?? "")?.[1] ?? "";
  return block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

it("runs the README's cancel example as written", async () => {
  const commands = await readmeCommands("<!-- cancel-example -->");
  expect(commands).toHaveLength(4);
  const answers = commands.map((command) =>
    JSON.parse(
      execFileSync("bash", ["-c", command.replaceAll("http://127.0.0.1:8787", worker)], { encoding: "utf8" }),
    ),
  );
  expect(answers[0]).toMatchObject({ ids: ["evt_cart_42"], instances: [{ status: "scheduled" }] });
  expect(answers[1]).toMatchObject({ id: "evt_cart_42", status: "cancelled" });
  expect(answers[2]).toMatchObject({
    results: [
      { id: "evt_cart_42", status: "cancelled" },
      { id: "evt_cart_43", status: 404 },
    ],
  });
  expect(answers[3]).toMatchObject({ id: "evt_cart_42", status: "cancelled" });
});

it("never logs the token", () => {
  expect(output).not.toContain(example.token);
});

it("stops the worker and the reference backend on SIGTERM", async () => {
  const exited = new Promise<number | null>((resolve) => dev.once("exit", resolve));
  dev.kill("SIGTERM");
  await exited;
  await expect(fetch(`${worker}/health`)).rejects.toThrow();
  await expect(fetch(`${backend}/control/calls`)).rejects.toThrow();
});
