import { SECRETS } from "../topology.ts";
import type { Setting } from "./setting.ts";

/** The secrets, set with `pulumi config set --secret`; never in a file. */
export const SECRET_SETTINGS = {
  authToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token producers send to /dispatch.",
    example: "<token>",
    binding: SECRETS.authToken,
  },
  authTokenNext: {
    kind: "secret",
    type: "string",
    doc: "A second accepted dispatch token, set only while rotating.",
    optional: true,
    example: "<token>",
    binding: SECRETS.authTokenNext,
  },
  backendToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token sent to the backend; authToken when unset.",
    optional: true,
    example: "<token>",
    binding: SECRETS.backendToken,
  },
  signingSecret: {
    kind: "secret",
    type: "string",
    doc: "HMAC key signing every backend call (X-Jobs-Signature); unsigned when unset.",
    optional: true,
    example: "<secret>",
    binding: SECRETS.signingSecret,
  },
  operatorToken: {
    kind: "secret",
    type: "string",
    doc: "Bearer token of operators: the operator API and the console.",
    example: "<token>",
    binding: SECRETS.operatorToken,
  },
  operatorTokenNext: {
    kind: "secret",
    type: "string",
    doc: "A second accepted operator token, set only while rotating.",
    optional: true,
    example: "<token>",
    binding: SECRETS.operatorTokenNext,
  },
  alertWebhookUrl: {
    kind: "secret",
    type: "string",
    doc: "Slack-compatible incoming webhook that receives alerts; none sent when unset.",
    optional: true,
    example: "https://hooks.slack.com/services/<...>",
    binding: SECRETS.alertWebhookUrl,
  },
} as const satisfies Record<string, Setting>;
