import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { COMPATIBILITY_DATE } from "../../worker/src/compatibility.ts";
import { percentile } from "./load.ts";
import { bundleBenchWorker } from "./runtimes.ts";

/** A realistic 100-event batch: half payouts, half payment receipts with line items. */
export function admissionBody(): string {
  return JSON.stringify({
    events: Array.from({ length: 100 }, (_, i) => ({
      id: `adm_${i}`,
      name: i % 2 ? "email/payment-receipt" : "payment/process-payout",
      payload:
        i % 2
          ? {
              email: "ann@example.com",
              customerName: "Ann",
              amount: "19.90",
              currency: "USD",
              transactionId: `tx_${i}`,
              items: [{ name: "Course", price: "19.90", quantity: 1 }],
              tenantName: "Acme",
            }
          : { tenantId: "t_1", transactionId: `tx_${i}`, walletId: "w_1", amount: "250.00", currency: "USD" },
      traceId: `trace_${i}`,
      idempotencyKey: `key_${i}`,
      createdAt: "2026-11-21T00:00:00.000Z",
    })),
  });
}

/**
 * CPU of the pure admission path for one 100-event batch, in workerd: the difference between
 * requests that run it 101 times and once, divided by 100, so HTTP overhead cancels out.
 */
export async function admissionCost(samples = 15, rounds = 100) {
  const scriptPath = await bundleBenchWorker("admission-worker.ts", "admission");
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      log: new Log(LogLevel.WARN),
      cf: false,
      modules: true,
      scriptPath,
      compatibilityDate: COMPATIBILITY_DATE,
    }),
  );
  const body = admissionBody();
  const time = async (n: number) => {
    const start = performance.now();
    const response = await miniflare.dispatchFetch(`http://bench/?rounds=${n}`, { method: "POST", body });
    if (!response.ok) throw new Error(`admission bench: ${await response.text()}`);
    await response.text();
    return performance.now() - start;
  };
  try {
    await time(rounds); // warm the JIT
    const once: number[] = [];
    const many: number[] = [];
    for (let i = 0; i < samples; i++) {
      once.push(await time(1));
      many.push(await time(rounds + 1));
    }
    once.sort((a, b) => a - b);
    many.sort((a, b) => a - b);
    const batchMs = (percentile(many, 50) - percentile(once, 50)) / rounds;
    return { batchMs, perEventUs: (batchMs * 1000) / 100, runtime: "workerd" };
  } finally {
    await miniflare.dispose();
  }
}
