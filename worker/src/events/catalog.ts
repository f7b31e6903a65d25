import * as z from "zod";
import type { WorkflowKind } from "../topology.ts";
import {
  amount,
  charge,
  isoDate,
  lineItems,
  notification,
  optionalText,
  payload,
  requiredTenant,
  SENSITIVE,
  secret,
  text,
} from "./fields.ts";

export const PRIORITIES = ["interactive", "bulk"] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface EventDefinition {
  workflow: WorkflowKind;
  priority: Priority;
  schema: z.ZodType<Record<string, unknown>>;
  /**
   * Backend paths called in order; defaults to the event name. A step's name is part of every
   * in-flight event's stored state (the workflow finds finished steps by it, the backend
   * deduplicates on `<id>:<step>`): never rename, remove or reorder the steps of a released
   * event. To change them, add a new event beside it and retire this one.
   */
  steps?: readonly string[];
  /**
   * No longer accepted at /dispatch, still run until every stored one has drained: how an event
   * is changed or removed without hurting work in flight (`npm run check-release` says when it
   * may go). `use` names the event that replaces it, for the producer's error message.
   */
  retired?: { use?: string };
}

/** The single routing table: event name → workflow, payload schema and backend steps. */
export const CATALOG = {
  "email/reset-password": {
    workflow: "email",
    priority: "interactive",
    schema: payload({ email: text, userName: text, otpCode: secret, tenantName: optionalText }),
  },
  "email/new-account-credentials": {
    workflow: "email",
    priority: "interactive",
    schema: payload({
      email: text,
      userName: text,
      temporaryPassword: secret,
      loginUrl: text,
      tenantName: text,
    }),
  },
  "email/change-email-verification": {
    workflow: "email",
    priority: "interactive",
    schema: payload({
      newEmail: text,
      oldEmail: text,
      userName: text,
      otpCode: secret,
      tenantName: optionalText,
    }),
  },
  "email/verification": {
    workflow: "email",
    priority: "interactive",
    schema: payload({ email: text, otpCode: secret, tenantName: optionalText }),
  },
  "email/cart-recovery": {
    workflow: "email",
    priority: "bulk",
    schema: payload({
      toEmail: text,
      subject: text,
      userName: text,
      cartItems: lineItems,
      cartTotal: amount,
      recoveryUrl: secret,
      recoveryToken: secret,
      tenantName: text,
    }),
  },
  "email/invitation": {
    workflow: "email",
    priority: "bulk",
    schema: payload({
      email: text,
      inviterName: text,
      tenantName: text,
      role: text,
      invitationUrl: secret,
      expiresAt: isoDate,
    }),
  },
  "email/enrollment-confirmation": {
    workflow: "email",
    priority: "bulk",
    schema: payload({
      email: text,
      courseName: text,
      userName: text,
      tenantName: text,
      courseUrl: optionalText,
    }),
  },
  "email/trial-reminder": {
    workflow: "email",
    priority: "bulk",
    schema: payload({
      email: text,
      userName: text,
      planName: text,
      planPrice: z.number(),
      currency: text,
      daysRemaining: z.number(),
      billingUrl: text,
    }),
  },
  "email/payment-receipt": {
    workflow: "email",
    priority: "bulk",
    schema: payload({ ...charge, items: lineItems }),
  },
  "email/withdrawal-status": {
    workflow: "email",
    priority: "bulk",
    schema: payload({
      email: text,
      ownerName: text,
      amount,
      currency: text,
      status: z.enum(["success", "failed", "canceled"]),
      transactionId: text,
      tenantName: text,
    }),
  },
  "email/failed-payment-alert": {
    workflow: "email",
    priority: "bulk",
    schema: payload({ ...charge, adminName: text, reason: optionalText }),
  },
  "email/refund-confirmation": {
    workflow: "email",
    priority: "bulk",
    schema: payload(charge),
  },
  "notification/create": {
    workflow: "notification",
    priority: "bulk",
    schema: payload({ tenantId: requiredTenant, userId: text, notification }),
  },
  "notification/create-for-customer": {
    workflow: "notification",
    priority: "bulk",
    schema: payload({ tenantId: requiredTenant, customerId: text, notification }),
  },
  "notification/bulk-create": {
    workflow: "notification",
    priority: "bulk",
    schema: payload({
      tenantId: requiredTenant,
      notification,
      userIds: z.array(text).optional(),
      customerIds: z.array(text).optional(),
    }),
  },
  "payment/process-payout": {
    workflow: "payment",
    priority: "bulk",
    schema: payload({
      tenantId: requiredTenant,
      transactionId: text,
      walletId: text,
      amount,
      currency: text,
    }),
    steps: ["payment/validate-payout", "payment/process-payout", "payment/notify-payout-status"],
  },
  "whatsapp/send-template": {
    workflow: "whatsapp",
    priority: "bulk",
    schema: payload({
      tenantId: requiredTenant,
      recipientPhone: text,
      templateKey: text,
      triggerEvent: text,
      // Template variables often carry the very code the message delivers.
      variables: z.record(z.string(), z.string()).meta({ [SENSITIVE]: true }),
      customerId: optionalText,
    }),
  },
} as const satisfies Record<string, EventDefinition>;

export type EventName = keyof typeof CATALOG;

export const EVENT_NAMES = Object.keys(CATALOG) as EventName[];

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(CATALOG, name);
}

export function definitionOf(name: EventName): EventDefinition {
  return CATALOG[name];
}

/** Why /dispatch refuses a retired event: worded as unknown, so every SDK treats it as final. */
export function retiredMessage(name: EventName, definition: EventDefinition = definitionOf(name)) {
  const { retired } = definition;
  if (!retired) return undefined;
  return `Unknown event: ${name} is retired${retired.use ? `; send ${retired.use}` : ""}`;
}

/** The backend steps an event runs, in order. */
export function stepsOf(name: EventName): readonly string[] {
  return definitionOf(name).steps ?? [name];
}
