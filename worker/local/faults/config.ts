import * as z from "zod";

/**
 * `PLATFORM_FAULTS`: failures the platform can produce, injected on purpose by `npm run dev`, the
 * drill and the fault tests. Local and test only: no deployed stack binds it and the shipped
 * bundle has no code that reads it (the wrapper worker in this folder does).
 * Imported by Node (validation at startup) and by the wrapper inside workerd, so zod only.
 */
/** The local binding the wrapper reads; never part of the topology's VARS, so never deployed. */
export const PLATFORM_FAULTS_BINDING = "PLATFORM_FAULTS";
/** Handled by the wrapper only: GET reads `{faults, stats}`, POST a JSON body replaces the faults. */
export const PLATFORM_FAULTS_PATH = "/__platform-faults";

const rate = z.number().min(0).max(1);

export const PlatformFaultsSchema = z.strictObject({
  /** Instance creations beyond this many per sliding second fail as production's 429 does. */
  createRatePerSecond: z.int().positive().optional(),
  /** Probability that one `create`/`createBatch` call throws before creating anything. */
  createFailRate: rate.optional(),
  /** Probability that one D1 call (a statement's first/all/run/raw, or a whole batch) throws. */
  d1FailRate: rate.optional(),
  /** Probability that one queue `send`/`sendBatch` throws. */
  queueSendFailRate: rate.optional(),
  /**
   * After the effect: the call took effect, then its answer was lost (it throws all the same).
   * `createBatch`: the instances exist; D1: the statement or batch committed; queue: the
   * message was sent. Drawn only for calls the before-effect faults let through.
   */
  createLostAnswerRate: rate.optional(),
  d1LostAnswerRate: rate.optional(),
  queueSendLostAnswerRate: rate.optional(),
  /** Seeds the random draws, so a run's sequence of failures can be reproduced. */
  seed: z.int().optional(),
});

export type PlatformFaults = z.infer<typeof PlatformFaultsSchema>;

export const PLATFORM_FAULTS_EXAMPLE =
  '{"createRatePerSecond": 100, "createFailRate": 0.05, "d1FailRate": 0.02, "queueSendFailRate": 0.1, "d1LostAnswerRate": 0.01, "seed": 7}';

export class PlatformFaultsError extends Error {
  override readonly name = "PlatformFaultsError";
  /** One entry per problem: `<key>: <what is wrong>`, or the JSON parser's complaint. */
  readonly issues: string[];

  constructor(issues: string[], options?: { cause?: unknown }) {
    super(
      `PLATFORM_FAULTS is invalid: ${issues.join("; ")}. Expected a JSON object whose keys are all ` +
        `optional, e.g. ${PLATFORM_FAULTS_EXAMPLE}`,
      options,
    );
    this.issues = issues;
  }
}

/** Parses the variable's text; unset or blank means no faults (`{}`). */
export function parsePlatformFaults(text: string | undefined): PlatformFaults {
  if (text === undefined || text.trim() === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PlatformFaultsError([`not JSON (${error instanceof Error ? error.message : String(error)})`], {
      cause: error,
    });
  }
  const parsed = PlatformFaultsSchema.safeParse(json);
  if (!parsed.success) {
    throw new PlatformFaultsError(
      parsed.error.issues.map((issue) =>
        issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message,
      ),
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

const percent = (rate: number) => `${Number((rate * 100).toPrecision(6))}%`;

/** One line for startup logs, e.g. `platform faults: createBatch 5% fail, ..., seed 7`. */
export function describePlatformFaults(faults: PlatformFaults): string {
  const parts = [
    faults.createFailRate ? `createBatch ${percent(faults.createFailRate)} fail` : undefined,
    faults.createRatePerSecond ? `creations > ${faults.createRatePerSecond}/s rejected (429)` : undefined,
    faults.d1FailRate ? `D1 ${percent(faults.d1FailRate)}` : undefined,
    faults.queueSendFailRate ? `queue send ${percent(faults.queueSendFailRate)}` : undefined,
    faults.createLostAnswerRate
      ? `createBatch ${percent(faults.createLostAnswerRate)} created, answer lost`
      : undefined,
    faults.d1LostAnswerRate ? `D1 ${percent(faults.d1LostAnswerRate)} committed, answer lost` : undefined,
    faults.queueSendLostAnswerRate
      ? `queue send ${percent(faults.queueSendLostAnswerRate)} sent, answer lost`
      : undefined,
  ].filter((part) => part !== undefined);
  if (parts.length === 0) parts.push("none");
  parts.push(faults.seed === undefined ? "random seed" : `seed ${faults.seed}`);
  return `platform faults: ${parts.join(", ")}`;
}
