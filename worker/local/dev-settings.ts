import { randomBytes } from "node:crypto";
import { parseEnv } from "node:util";
import { RECONCILER } from "../src/topology.ts";
import { type PlatformFaults, parsePlatformFaults } from "./faults/config.ts";

export interface DevSettings {
  port: number;
  backendPort: number;
  authToken: string;
  /** True when the token was made up here and must be shown to the developer. */
  generatedToken: boolean;
  authTokenNext?: string;
  operatorToken: string;
  /** True when the operator token was made up here and must be shown to the developer. */
  generatedOperatorToken: boolean;
  operatorTokenNext?: string;
  /** Where alerts go; the reference backend's sink when unset and the reference backend runs. */
  alertWebhookUrl?: string;
  backendUrl?: string;
  backendToken?: string;
  signingSecret?: string;
  retryDelayScale: number;
  /** Dispatch requests per caller per minute, as a stack's `rateLimit`. */
  rateLimit?: number;
  stateDir?: string;
  /** Set only when PLATFORM_FAULTS is: then the platform-fault wrapper runs in front of the worker. */
  platformFaults?: PlatformFaults;
  /** How often the scheduled handler runs; 0 turns it off. */
  scheduledIntervalSeconds: number;
}

/** A setting `npm run dev` cannot start with; dev.ts prints the message and exits 2. */
export class DevSettingsError extends Error {
  override readonly name = "DevSettingsError";
  readonly variable: string;

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.variable = variable;
  }
}

function intervalSeconds(text: string | undefined): number {
  if (text === undefined) return RECONCILER.localIntervalSeconds;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new DevSettingsError(
      "SCHEDULED_INTERVAL_SECONDS",
      `SCHEDULED_INTERVAL_SECONDS must be a number of seconds >= 0 (0 turns the scheduled runs off), got ${JSON.stringify(text)}`,
    );
  }
  return seconds;
}

function platformFaults(text: string): PlatformFaults {
  try {
    return parsePlatformFaults(text);
  } catch (error) {
    throw new DevSettingsError("PLATFORM_FAULTS", error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

/**
 * Settings for `npm run dev`: a non-empty environment variable wins over `.dev.vars`. Throws a
 * DevSettingsError for a PLATFORM_FAULTS or SCHEDULED_INTERVAL_SECONDS it cannot use.
 */
export function devSettings(environment: NodeJS.ProcessEnv, devVars = ""): DevSettings {
  const file: Record<string, string | undefined> = parseEnv(devVars);
  const given = (name: string) => environment[name] || file[name] || undefined;
  const authToken = given("AUTH_TOKEN");
  const operatorToken = given("OPERATOR_TOKEN");
  const faults = given("PLATFORM_FAULTS");
  return {
    port: Number(given("PORT") ?? 8787),
    backendPort: Number(given("BACKEND_PORT") ?? 8788),
    authToken: authToken ?? `dev-${randomBytes(12).toString("hex")}`,
    generatedToken: authToken === undefined,
    authTokenNext: given("AUTH_TOKEN_NEXT"),
    operatorToken: operatorToken ?? `op-${randomBytes(12).toString("hex")}`,
    generatedOperatorToken: operatorToken === undefined,
    operatorTokenNext: given("OPERATOR_TOKEN_NEXT"),
    alertWebhookUrl: given("ALERT_WEBHOOK_URL"),
    backendUrl: given("BACKEND_URL"),
    backendToken: given("BACKEND_TOKEN"),
    signingSecret: given("SIGNING_SECRET"),
    retryDelayScale: Number(given("RETRY_DELAY_SCALE") ?? 1),
    rateLimit: given("RATE_LIMIT") === undefined ? undefined : Number(given("RATE_LIMIT")),
    stateDir: given("STATE_DIR"),
    ...(faults === undefined ? {} : { platformFaults: platformFaults(faults) }),
    scheduledIntervalSeconds: intervalSeconds(given("SCHEDULED_INTERVAL_SECONDS")),
  };
}
