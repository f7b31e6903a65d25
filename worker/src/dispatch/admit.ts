import { retiredMessage } from "../events/catalog.ts";
import { contentDigest } from "../events/digest.ts";
import { parseItem } from "../events/items.ts";
import type { Admitted } from "../events/job.ts";

export interface Admission {
  /** One entry per distinct id, in the order the ids first appeared. */
  admitted: Map<string, Admitted>;
  errors: { id: string; error: string }[];
}

/**
 * The pure part of `/dispatch`: validates every item, digests the valid ones and collapses
 * repeats of an id within the batch. No I/O, so it is also what the CPU benchmark measures.
 */
export async function admit(items: readonly unknown[], now: number): Promise<Admission> {
  const errors: Admission["errors"] = [];
  const admitted = new Map<string, Admitted>();
  const parsed = items.map((item) => parseItem(item, now));
  // Digests in parallel: each awaits the runtime's SHA-256, none depends on another.
  const digests = await Promise.all(parsed.map((p, i) => (p.ok ? contentDigest(items[i]) : "")));
  for (const [index, result] of parsed.entries()) {
    if (!result.ok) {
      errors.push({ id: result.id, error: result.error });
      continue;
    }
    const digest = digests[index] as string;
    const earlier = admitted.get(result.job.id);
    const retired = retiredMessage(result.job.name);
    if (earlier === undefined)
      admitted.set(result.job.id, { job: result.job, digest, ...(retired ? { retired } : {}) });
    else if (earlier.digest !== digest) {
      errors.push({
        id: result.job.id,
        error: "Conflicting duplicate id: this batch already has a different event with this id",
      });
    }
  }
  return { admitted, errors };
}
