import type { JobParams } from "./events/job.ts";
import type { DATABASE, RATE_LIMITS, SECRETS, VarName, WorkflowBinding } from "./topology.ts";

type Secrets = { [K in (typeof SECRETS)[keyof typeof SECRETS]]?: string };
type Vars = { [K in VarName]?: string };
type Workflows = { [K in WorkflowBinding]: Workflow<JobParams> };
type RateLimits = { [K in (typeof RATE_LIMITS)[keyof typeof RATE_LIMITS]["binding"]]: RateLimit };

/** The worker's bindings, derived from the topology so a rename cannot drift. */
export type Env = Workflows &
  RateLimits &
  Secrets &
  Vars & { [K in (typeof DATABASE)["binding"]]: D1Database };
