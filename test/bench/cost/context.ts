import type { client } from "../../support/client.ts";
import type { BackendHandle } from "../backend-process.ts";

/** What the scenarios and the waits reach: the backend, the running worker, a producer of it. */
export interface CostContext {
  backend: BackendHandle;
  /** The local runtime's URL. */
  url: string;
  producer: ReturnType<typeof client>;
}

export const headers = (token: string) => ({
  authorization: `Bearer ${token}`,
  "content-type": "application/json",
});
