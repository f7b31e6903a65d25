import { admit } from "../../worker/src/dispatch/admit.ts";
import { lanes } from "../../worker/src/dispatch/lanes.ts";
import { CATALOG } from "../../worker/src/events/catalog.ts";

/**
 * Runs the worker's own admission path (parse, validate, digest, route) `rounds` times on the
 * posted body, inside workerd, with no I/O: the request's wall time is its CPU time.
 */
export default {
  async fetch(request: Request) {
    const rounds = Number(new URL(request.url).searchParams.get("rounds") ?? 1);
    const body = await request.text();
    let routed = 0;
    for (let i = 0; i < rounds; i++) {
      const { events } = JSON.parse(body) as { events: unknown[] };
      const { admitted, errors } = await admit(events, Date.now());
      if (errors.length > 0) return new Response(JSON.stringify(errors[0]), { status: 400 });
      routed += lanes(
        [...admitted.values()].map((a) => a.job),
        (name) => CATALOG[name].priority,
      ).length;
    }
    return Response.json({ rounds, routed });
  },
};
