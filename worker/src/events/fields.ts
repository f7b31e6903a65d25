import * as z from "zod";

/** The schema metadata key that marks a field sensitive (an OpenAPI extension keyword). */
export const SENSITIVE = "x-sensitive";

/**
 * A string field. Required means present: an empty string passes, as both SDKs' types allow it,
 * and the backend decides (a refusal there is a visible dead event, not a producer's log line).
 */
export const text = z.string();
/**
 * A value the backend needs but no operator should read (codes, passwords, tokens, links that
 * carry one): marked here, once, and masked in every operator answer and console page. The
 * stored event keeps it, so a replay sends the original. The OpenAPI document shows the mark.
 */
export const secret = text.meta({ [SENSITIVE]: true });
export const amount = z.union([z.number(), text]);
export const isoDate = z.iso.datetime({ offset: true });
export const lineItems = z.array(z.looseObject({ name: text, price: amount, quantity: z.number() }));
export const notification = z.looseObject({
  title: text,
  message: text,
  type: z.string().optional(),
  linkUrl: z.string().optional(),
});

/** The fields every payment email shares. */
export const charge = {
  email: text,
  customerName: text,
  amount,
  currency: text,
  transactionId: text,
  tenantName: text,
};

/** Producers name tenants with any text (Arabic included) or a number; x-tenant-id carries either. */
const tenant = z.union([z.string(), z.number().finite()]);
export const requiredTenant = z.union([text, z.number().finite()]);
export const optionalText = text.optional();

/** Every payload may carry a tenant; unknown extra fields pass through to the backend. */
export const payload = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.looseObject({ tenantId: tenant.optional(), ...shape });
