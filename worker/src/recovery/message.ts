import * as z from "zod";

/** What travels on the recovery queue: a pointer. The event itself stays in D1 (messages cap at 128 KB). */
export const RecoveryMessageSchema = z.object({ eventId: z.string().min(1).max(200) });
export type RecoveryMessage = z.infer<typeof RecoveryMessageSchema>;
