import { dispatch, envelope, resetPassword, uid } from "./helpers.ts";

export const arabic = "شركة الأمل للتجارة";

export const LABEL_RULE = "must not contain control characters, nor start or end with whitespace";

/** Every per-item message the worker gives, produced by the worker itself. */
export async function perItemMessages(): Promise<Map<string, string>> {
  const earlier = envelope("email/reset-password", resetPassword);
  await dispatch([earlier]);
  const twin = uid();
  const items: [label: string, item: unknown][] = [
    ["unknown event", envelope("email/unknown", resetPassword)],
    ["invalid payload", envelope("email/reset-password", { email: "ann@example.com" })],
    ["invalid item", { id: uid(), name: "email/reset-password" }],
    ["not an object", "just a string"],
    ["conflicts with an earlier event", { ...earlier, payload: { ...resetPassword, otpCode: "999999" } }],
    ["conflicts within the batch", envelope("email/reset-password", resetPassword, twin)],
    [
      "conflicts within the batch",
      envelope("email/reset-password", { ...resetPassword, userName: "Bob" }, twin),
    ],
  ];
  const label = new Map(
    items.map(([name, item]) => [typeof item === "object" ? (item as { id: string }).id : "unknown", name]),
  );
  const result = await dispatch(items.map(([, item]) => item));
  // Matched by id, as SDK 0.1.5 matches them (its failedIds), in the order of the labels.
  const messages = new Map<string, string>();
  for (const error of result.errors ?? []) messages.set(label.get(error.id) ?? "?", error.error);
  return new Map(
    [...new Set(items.map(([name]) => name))].map((name) => [name, messages.get(name) ?? "none"]),
  );
}
