import { randomBytes } from "node:crypto";
import { parseEnv } from "node:util";

export interface DevSettings {
  port: number;
  backendPort: number;
  authToken: string;
  /** True when the token was made up here and must be shown to the developer. */
  generatedToken: boolean;
  authTokenNext?: string;
  backendUrl?: string;
  backendToken?: string;
  signingSecret?: string;
  retryDelayScale: number;
  /** Dispatch requests per caller per minute, as a stack's `rateLimit`. */
  rateLimit?: number;
  stateDir?: string;
}

/** Settings for `npm run dev`: a non-empty environment variable wins over `.dev.vars`. */
export function devSettings(environment: NodeJS.ProcessEnv, devVars = ""): DevSettings {
  const file: Record<string, string | undefined> = parseEnv(devVars);
  const given = (name: string) => environment[name] || file[name] || undefined;
  const authToken = given("AUTH_TOKEN");
  return {
    port: Number(given("PORT") ?? 8787),
    backendPort: Number(given("BACKEND_PORT") ?? 8788),
    authToken: authToken ?? `dev-${randomBytes(12).toString("hex")}`,
    generatedToken: authToken === undefined,
    authTokenNext: given("AUTH_TOKEN_NEXT"),
    backendUrl: given("BACKEND_URL"),
    backendToken: given("BACKEND_TOKEN"),
    signingSecret: given("SIGNING_SECRET"),
    retryDelayScale: Number(given("RETRY_DELAY_SCALE") ?? 1),
    rateLimit: given("RATE_LIMIT") === undefined ? undefined : Number(given("RATE_LIMIT")),
    stateDir: given("STATE_DIR"),
  };
}
