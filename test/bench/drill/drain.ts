import { type Accounting, account } from "../../../worker/local/accounting.ts";
import type { client } from "../../support/client.ts";
import type { BackendHandle } from "../backend-process.ts";
import type { DrillEvent } from "./events.ts";

/** Accounts for `accepted` until none is missing, or for ten minutes at most. */
export async function drain(
  backend: BackendHandle,
  operator: () => ReturnType<typeof client>,
  accepted: readonly DrillEvent[],
): Promise<Accounting> {
  let result = account(accepted, await backend.calls(), await operator().failed("dead"));
  const deadline = Date.now() + 10 * 60_000;
  while (result.missing.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
    result = account(accepted, await backend.calls(), await operator().failed("dead"));
  }
  return result;
}
