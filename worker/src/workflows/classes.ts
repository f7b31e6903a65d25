import { JobWorkflow } from "./job-workflow.ts";

/** One class per Workflow in the topology; each test checks these names against it. */
export class EmailWorkflow extends JobWorkflow {}
export class NotificationWorkflow extends JobWorkflow {}
export class PaymentWorkflow extends JobWorkflow {}
export class WhatsappWorkflow extends JobWorkflow {}
