import type { AlertMessage } from "./message.ts";

/**
 * The webhook did not take an alert. Its message never carries the URL (a Slack webhook's URL
 * is its credential) or the receiver's answer: only what kind of failure it was.
 */
export class WebhookError extends Error {
  override readonly name = "WebhookError";
  readonly reason: "timeout" | "network" | "status";
  readonly status: number | undefined;

  constructor(reason: WebhookError["reason"], status?: number) {
    super(reason === "status" ? `webhook answered ${status}` : `webhook ${reason}`);
    this.reason = reason;
    this.status = status;
  }
}

/** The configured webhook, if it is one: an absolute http(s) URL. */
export type WebhookUrl = { kind: "unset" } | { kind: "invalid" } | { kind: "valid"; url: string };

export function webhookUrl(value: string | undefined): WebhookUrl {
  const text = value?.trim() ?? "";
  if (text === "") return { kind: "unset" };
  if (!URL.canParse(text)) return { kind: "invalid" };
  const { protocol } = new URL(text);
  return protocol === "https:" || protocol === "http:" ? { kind: "valid", url: text } : { kind: "invalid" };
}

/** Posts one alert within `timeoutMs`; any answer but a 2xx is a failure. */
export async function postAlert(url: string, message: AlertMessage, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    // Not following redirects: the body goes to the configured receiver or nowhere.
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new WebhookError(error instanceof Error && error.name === "TimeoutError" ? "timeout" : "network");
  }
  await response.body?.cancel().catch(() => {});
  if (response.status < 200 || response.status >= 300) throw new WebhookError("status", response.status);
}
