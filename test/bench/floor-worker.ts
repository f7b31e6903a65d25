import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

/**
 * The floor the benchmark compares against: parse the body, createBatch, one backend call per
 * instance. No auth, validation, receipts, rate limit or logs: the least a dispatcher can do.
 */
interface FloorEnv {
  FLOOR_WORKFLOW: Workflow<FloorEvent>;
  BACKEND_URL: string;
  BACKEND_TOKEN: string;
}
interface FloorEvent {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

export class FloorWorkflow extends WorkflowEntrypoint<FloorEnv, FloorEvent> {
  override async run(event: WorkflowEvent<FloorEvent>, step: WorkflowStep) {
    return step.do("call", async () => {
      const response = await fetch(`${this.env.BACKEND_URL}/workflows/execute/${event.payload.name}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.env.BACKEND_TOKEN}`,
          "idempotency-key": `${event.payload.id}:${event.payload.name}`,
          "x-workflow-event-id": event.payload.id,
        },
        body: JSON.stringify(event.payload.payload),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.status;
    });
  }
}

export default {
  async fetch(request: Request, env: FloorEnv) {
    const { events } = (await request.json()) as { events: FloorEvent[] };
    for (let i = 0; i < events.length; i += 100) {
      await env.FLOOR_WORKFLOW.createBatch({
        instances: events.slice(i, i + 100).map((e) => ({ id: e.id, params: e })),
      });
    }
    return Response.json({ ids: events.map((e) => e.id) });
  },
};
