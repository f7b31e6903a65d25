import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeHeaderValue } from "../src/backend/header-value.ts";
import { memoryReplayGuard, SIGNATURE_HEADER, verify } from "../src/signing.ts";
import type { Alert, Call, Fault } from "./backend-api.ts";

export type { Alert, Call, Fault };

/**
 * The reference backend: what a real service behind `/workflows/execute/*` must do. It checks
 * the bearer token, performs each Idempotency-Key at most once, and can be told to misbehave.
 * `/control/*` lets tests and drills inject faults and read what happened. It is also a sink
 * for the worker's alert webhook (`POST /control/alerts`), so alerts can be seen locally.
 */

export interface BackendOptions {
  /** Accepted bearer tokens: the current one, and the next during a rotation. */
  token: string | readonly string[];
  /** When set, every call must carry a valid signature by one of these secrets. */
  signingSecrets?: readonly string[];
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

export interface Backend {
  url: string;
  calls: Call[];
  /** Every alert the worker posted, oldest first. */
  alerts: Alert[];
  /** Idempotency-Key → the call that performed it. */
  executions: Map<string, Call>;
  /** The in-process twin of `POST /control/faults`. */
  addFault(fault: Fault): void;
  close(): Promise<void>;
}

const PREFIX = "/workflows/execute/";

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const calls: Call[] = [];
  const alerts: Alert[] = [];
  const executions = new Map<string, Call>();
  let faults: Fault[] = [];
  const expected = (typeof options.token === "string" ? [options.token] : options.token).map((t) =>
    digest(`Bearer ${t}`),
  );
  const authorized = (req: IncomingMessage) => {
    const given = digest(req.headers.authorization ?? "");
    return expected.reduce((ok, wanted) => timingSafeEqual(given, wanted) || ok, false);
  };
  const replayGuard = memoryReplayGuard();

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://backend");
      const body = await readBody(req);
      // A webhook sender holds only the URL, as with Slack's: receiving needs no token. Reading
      // what was received does, like everything else under /control/.
      if (req.method === "POST" && url.pathname === "/control/alerts") {
        // `?delayMs=N` (at most 10 s) plays a webhook that hangs before it answers.
        const delay = Math.min(10_000, Number(url.searchParams.get("delayMs") ?? 0) || 0);
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        return receiveAlert(body, res);
      }
      if (url.pathname.startsWith("/control/")) {
        if (!authorized(req)) return send(res, 401, { error: "Unauthorized" });
        return control(req.method ?? "GET", url, body, res);
      }
      if (req.method !== "POST" || !url.pathname.startsWith(PREFIX))
        return send(res, 404, { error: "Not found" });
      return await execute(req, url.pathname.slice(PREFIX.length), body, res);
    } catch (error) {
      send(res, 500, { error: String(error) });
    }
  });

  async function execute(req: IncomingMessage, path: string, body: string, res: ServerResponse) {
    const header = (name: string) => String(req.headers[name] ?? "");
    const call: Call = {
      path,
      eventId: header("x-workflow-event-id"),
      traceId: decodeHeaderValue(header("x-trace-id")),
      idempotencyKey: header("idempotency-key"),
      tenantId: req.headers["x-tenant-id"] === undefined ? null : decodeHeaderValue(header("x-tenant-id")),
      body,
      authorized: authorized(req),
      signature: null,
      status: 0,
      performed: false,
      at: Date.now(),
    };
    calls.push(call);
    const finish = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      const tenant = call.tenantId === null ? "" : ` tenant=${call.tenantId}`;
      const auth = call.authorized ? "ok" : "rejected";
      options.log?.(
        `${status} POST ${PREFIX}${path} event=${call.eventId} trace=${call.traceId} key=${call.idempotencyKey}${tenant} auth=${auth}`,
      );
      send(res, status, payload, headers);
    };

    if (!call.authorized) return finish(401, { error: "Unauthorized" });
    if (options.signingSecrets?.length) {
      const signed = {
        method: "POST",
        path: `${PREFIX}${path}`,
        eventId: call.eventId,
        idempotencyKey: call.idempotencyKey,
        // Signed as sent: the header's own (possibly encoded) value.
        tenantId: req.headers["x-tenant-id"] === undefined ? null : header("x-tenant-id"),
        body,
      };
      const verdict = await verify(header(SIGNATURE_HEADER), signed, {
        secrets: options.signingSecrets,
        replayGuard,
      });
      call.signature = verdict.ok ? "ok" : verdict.reason;
      if (!verdict.ok) return finish(401, { error: `Bad signature: ${verdict.reason}` });
    }
    const fault = faults.find(
      (f) =>
        (f.path === undefined || f.path === path) &&
        (f.eventId === undefined || f.eventId === call.eventId) &&
        f.count !== 0 &&
        (f.rate === undefined || Math.random() < f.rate),
    );
    if (fault) {
      if (fault.count !== undefined) fault.count -= 1;
      call.fault = fault.reset
        ? "reset"
        : fault.status >= 300
          ? String(fault.status)
          : `latency ${fault.latencyMs} ms`;
      if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (fault.reset) {
        call.status = -1;
        options.log?.(`reset POST ${PREFIX}${path} event=${call.eventId}`);
        req.socket.destroy();
        return;
      }
      // A 2xx fault only adds latency: the work is still performed, once.
      if (fault.status < 200 || fault.status >= 300) {
        const headers: Record<string, string> = {
          ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}),
          ...(fault.location ? { location: fault.location } : {}),
        };
        return finish(fault.status, { error: fault.error ?? `injected ${fault.status}` }, headers);
      }
    }
    try {
      JSON.parse(body);
    } catch {
      return finish(422, { error: "body is not JSON" });
    }
    if (!call.idempotencyKey) return finish(422, { error: "Idempotency-Key is required" });
    const earlier = executions.get(call.idempotencyKey);
    if (earlier) return finish(200, { ok: true, duplicate: true });
    executions.set(call.idempotencyKey, call);
    call.performed = true;
    return finish(200, { ok: true });
  }

  function receiveAlert(body: string, res: ServerResponse) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, { error: "body is not JSON" });
    }
    alerts.push({ body: parsed, at: Date.now() });
    const text = (parsed as { text?: unknown } | null)?.text;
    options.log?.(`alert ${typeof text === "string" ? text : "(no text)"}`);
    return send(res, 200, { ok: true });
  }

  function control(method: string, url: URL, body: string, res: ServerResponse) {
    const route = `${method} ${url.pathname}`;
    if (route === "GET /control/alerts") return send(res, 200, { alerts });
    if (route === "GET /control/calls") {
      const eventId = url.searchParams.get("eventId");
      return send(res, 200, { calls: calls.filter((c) => eventId === null || c.eventId === eventId) });
    }
    if (route === "GET /control/executions") {
      return send(res, 200, { executions: [...executions.values()] });
    }
    if (route === "POST /control/faults") {
      faults.push({ ...(JSON.parse(body) as Fault) });
      return send(res, 201, { faults: faults.length });
    }
    if (route === "DELETE /control/faults") {
      faults = [];
      return send(res, 200, { faults: 0 });
    }
    return send(res, 404, { error: "Not found" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    calls,
    alerts,
    executions,
    addFault: (fault) => faults.push({ ...fault }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(payload));
}
