import type { JobParams } from "./events/job.ts";
import type { BackendLimiter } from "./limiter/limiter.ts";
import type { RecoveryMessage } from "./recovery/message.ts";
import type {
  DATABASE,
  LIMITER,
  QUEUES,
  RATE_LIMITS,
  SECRETS,
  VarName,
  VERSION_METADATA,
  WorkflowBinding,
} from "./topology.ts";

type Secrets = { [K in (typeof SECRETS)[keyof typeof SECRETS]]?: string };
type Vars = { [K in VarName]?: string };
type Workflows = { [K in WorkflowBinding]: Workflow<JobParams> };
type Queues = { [K in (typeof QUEUES)["recovery"]["binding"]]: Queue<RecoveryMessage> };
type RateLimits = { [K in (typeof RATE_LIMITS)[keyof typeof RATE_LIMITS]["binding"]]: RateLimit };

/** The worker's bindings, derived from the topology so a rename cannot drift. */
export type Env = Workflows &
  Queues &
  RateLimits &
  Secrets &
  Vars & { [K in (typeof DATABASE)["binding"]]: D1Database } & {
    /** Only in a stack that limits its backend (and always locally). */
    [K in (typeof LIMITER)["binding"]]?: DurableObjectNamespace<BackendLimiter>;
  } & {
    /** Optional: a stack deployed before it was bound starts alerting from its first check. */
    [K in (typeof VERSION_METADATA)["binding"]]?: WorkerVersionMetadata;
  };
