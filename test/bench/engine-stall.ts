import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { COMPATIBILITY_DATE } from "../../worker/src/compatibility.ts";

/**
 * `npm run engine-stall`: shows, with no project code, that the local Workflows engine keeps
 * workerd's one thread busy while it creates instances (one SQLite-backed Durable Object each),
 * so `/health` of the same worker waits seconds while N instances are created; D1 writing as
 * many rows does not. Prints how long `/health` took during each. `N` (default 1000) is the
 * number of instances, and of rows.
 */
const N = Number(process.env.N ?? 1000);
const script = `
import { WorkflowEntrypoint } from "cloudflare:workers";
export class W extends WorkflowEntrypoint { async run(event, step) { return step.do("s", async () => event.payload.i); } }
export default { async fetch(request, env) {
  const url = new URL(request.url);
  if (url.pathname === "/health") return new Response("ok");
  const n = Number(url.searchParams.get("n"));
  if (url.pathname === "/workflows") {
    for (let i = 0; i < n; i += 100)
      await env.WF.createBatch(Array.from({ length: Math.min(100, n - i) }, (_, j) => ({ id: url.searchParams.get("p") + (i + j), params: { i: i + j } })));
  } else {
    await env.DB.exec("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY)");
    const insert = env.DB.prepare("INSERT INTO t (id) VALUES (?1) ON CONFLICT DO NOTHING");
    await env.DB.batch(Array.from({ length: n }, (_, i) => insert.bind(url.searchParams.get("p") + i)));
  }
  return new Response("done");
} };`;

const miniflare = new Miniflare(
  convertV4MiniflareOptions({
    log: new Log(LogLevel.WARN),
    cf: false,
    workers: [
      {
        modules: true,
        script,
        compatibilityDate: COMPATIBILITY_DATE,
        workflows: { WF: { name: "w", className: "W" } },
        d1Databases: { DB: "db" },
      },
    ],
  }),
);
const url = await miniflare.ready;

async function measure(kind: "workflows" | "d1"): Promise<number> {
  const work = fetch(new URL(`/${kind}?n=${N}&p=${kind}_`, url)).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 100));
  const started = Date.now();
  await fetch(new URL("/health", url)).then((r) => r.text());
  const waited = Date.now() - started;
  await work;
  return waited;
}

const d1 = await measure("d1");
const workflows = await measure("workflows");
console.log(`/health while D1 writes ${N} rows: ${d1} ms`);
console.log(`/health while the engine creates ${N} instances: ${workflows} ms`);
await miniflare.dispose();
