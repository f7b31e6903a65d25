import { DATABASE, QUEUES, WORKER_NAME, WORKFLOWS, type WorkflowKind } from "../worker/src/topology.ts";

/** Queue, script, workflow and database names are account-wide: every stack gets its own. */
export function stackNames(stack: string) {
  const suffixed = (name: string) => `${name}-${stack}`;
  return {
    script: suffixed(WORKER_NAME),
    database: suffixed(DATABASE.name),
    recoveryQueue: suffixed(QUEUES.recovery.name),
    deadLetterQueue: suffixed(QUEUES.deadLetter.name),
    workflow: (kind: WorkflowKind) => suffixed(WORKFLOWS[kind].name),
  };
}

export type StackNames = ReturnType<typeof stackNames>;
