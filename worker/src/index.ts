import type { Env } from "./env.ts";
import { app } from "./http/app.ts";

export {
  EmailWorkflow,
  NotificationWorkflow,
  PaymentWorkflow,
  WhatsappWorkflow,
} from "./workflows/classes.ts";

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
