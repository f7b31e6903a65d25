import { createHash } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type * as z from "zod";
import { readMigrations } from "./migrations.ts";

/**
 * What a release promises the work it leaves in flight, read off a source tree: every event with
 * its workflow and steps in order, a fingerprint of its payload schema, every recovery message
 * format, and every migration with its hash. `worker/release.json` is this, committed, so a pull
 * request shows in one diff what it changes for events already stored.
 */
export interface ReleaseContract {
  events: Record<string, { workflow: string; steps: string[]; payload: string; retired?: { use?: string } }>;
  /** Account-wide names and classes: renaming one replaces the resource, deleting what it holds. */
  workflows: Record<string, { name: string; className: string }>;
  queues: Record<string, string>;
  recoveryMessage: { version: number; formats: Record<string, string> };
  migrations: { name: string; sha256: string }[];
  /**
   * What a running instance depends on across a deploy: the names its durable steps are found by,
   * the Idempotency-Key its backend calls carry, and the envelope it was created with (stored in
   * every row and every instance). Absent from trees older than it: then not compared.
   */
  instance?: {
    steps: Record<string, string>;
    key: string;
    envelope: { required: string[]; properties: Record<string, string> };
  };
  /** Names whose change replaces what holds the data, or loses track of the migrations. */
  names?: Record<string, string>;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

interface CatalogModule {
  CATALOG: Record<string, { workflow: string; schema: z.ZodType; retired?: { use?: string } }>;
  stepsOf(name: string): readonly string[];
}
interface TopologyModule {
  WORKFLOWS: Record<string, { name: string; className: string }>;
  QUEUES: Record<string, { name: string }>;
  DATABASE: { name: string; migrationsTable?: string };
  WORKER_NAME: string;
}
interface StepNamesModule {
  STEP_NAMES: Record<string, string | ((step: string) => string)>;
}
interface KeyModule {
  idempotencyKeyOf(eventId: string, step: string): string;
}
interface JobModule {
  JobParamsSchema: z.ZodType;
}
/** The step and event every name is rendered for: a template's change shows as a new value. */
export const SAMPLE = { eventId: "evt_sample", step: "sample/step" };
interface MessageModule {
  RecoveryMessageSchema: z.ZodType;
  RECOVERY_MESSAGE_VERSION?: number;
  RECOVERY_MESSAGE_VERSIONS?: Record<string, z.ZodType>;
}

/** A schema's shape as JSON Schema, hashed; the version marker `v` is the envelope, not the format. */
function fingerprint(toJSONSchema: typeof z.toJSONSchema, schema: z.ZodType): string {
  const json = toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, unknown>;
  };
  if (json.properties) delete json.properties.v;
  return sha256(JSON.stringify(json)).slice(0, 16);
}

/** An object schema field by field: an added optional field is safe, any other change is not. */
function fields(toJSONSchema: typeof z.toJSONSchema, schema: z.ZodType, compared: readonly string[]) {
  const json = toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    required?: string[];
    properties?: Record<string, unknown>;
  };
  return {
    required: [...(json.required ?? [])].sort(),
    properties: Object.fromEntries(
      Object.entries(json.properties ?? {})
        .filter(([name]) => !compared.includes(name))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, field]) => [name, sha256(JSON.stringify(field)).slice(0, 16)]),
    ),
  };
}

/**
 * The contract of the tree at `root` (this working tree, or an older release exported beside
 * it). Older trees are read as they were: one that predates message versions has version 1.
 */
export async function contractOf(root: string): Promise<ReleaseContract> {
  const load = <T>(path: string) => import(pathToFileURL(join(root, path)).href) as Promise<T>;
  const { CATALOG, stepsOf } = await load<CatalogModule>("worker/src/events/catalog.ts");
  const { WORKFLOWS, QUEUES, DATABASE, WORKER_NAME } = await load<TopologyModule>("worker/src/topology.ts");
  const optional = <T>(path: string) => load<T>(path).catch(() => undefined);
  const stepNames = await optional<StepNamesModule>("worker/src/workflows/step-names.ts");
  const key = await optional<KeyModule>("worker/src/backend/key.ts");
  const { JobParamsSchema } = await load<JobModule>("worker/src/events/job.ts");
  const message = await load<MessageModule>("worker/src/recovery/message.ts");
  const { toJSONSchema } = await load<typeof z>("node_modules/zod/index.js");
  const events: ReleaseContract["events"] = {};
  for (const [name, definition] of Object.entries(CATALOG).sort(([a], [b]) => a.localeCompare(b)))
    events[name] = {
      workflow: definition.workflow,
      // The tree's own rule, whatever it is: the steps its code would run.
      steps: [...stepsOf(name)],
      payload: fingerprint(toJSONSchema, definition.schema),
      ...(definition.retired ? { retired: definition.retired } : {}),
    };
  const formats = message.RECOVERY_MESSAGE_VERSIONS ?? { 1: message.RecoveryMessageSchema };
  return {
    events,
    workflows: Object.fromEntries(
      Object.entries(WORKFLOWS).map(([kind, w]) => [kind, { name: w.name, className: w.className }]),
    ),
    queues: Object.fromEntries(Object.entries(QUEUES).map(([key, q]) => [key, q.name])),
    recoveryMessage: {
      version: message.RECOVERY_MESSAGE_VERSION ?? 1,
      formats: Object.fromEntries(Object.entries(formats).map(([v, s]) => [v, fingerprint(toJSONSchema, s)])),
    },
    migrations: readMigrations(join(root, "worker", "migrations")).map(({ name, sha256 }) => ({
      name,
      sha256,
    })),
    ...(stepNames && key
      ? {
          instance: {
            steps: Object.fromEntries(
              Object.entries(stepNames.STEP_NAMES).map(([what, name]) => [
                what,
                typeof name === "function" ? name(SAMPLE.step) : name,
              ]),
            ),
            key: key.idempotencyKeyOf(SAMPLE.eventId, SAMPLE.step),
            // `name` is one of the catalog's events, compared event by event.
            envelope: fields(toJSONSchema, JobParamsSchema, ["name"]),
          },
          names: {
            database: DATABASE.name,
            migrationsTable: DATABASE.migrationsTable ?? "d1_migrations",
            worker: WORKER_NAME,
          },
        }
      : {}),
  };
}
