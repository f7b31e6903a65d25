import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { type Bundle, bundleWorker } from "../worker/build.ts";
import { readStackConfig } from "./config.ts";
import { contentFile, declareStack } from "./resources.ts";

/**
 * Runs the Pulumi program offline: Pulumi's mocks stand in for the engine and the Cloudflare
 * provider, so a plan or a test sees every resource and its inputs without credentials.
 */
export const PROJECT = "jobs";
const root = join(import.meta.dirname, "..");

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Resource options, which the engine sees and a mock's inputs do not. */
  protect: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  /** URNs of the resources this one was declared to depend on. */
  dependsOn: string[];
  urn: string;
}

export interface MockRun {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  /** The program's outputs as Pulumi outputs, to inspect secretness. */
  rawOutputs: ReturnType<typeof declareStack>;
  bundle: Bundle;
  /** Where the CLI would run the program, and the upload path as the provider resolves it there. */
  programDirectory: string;
  contentFile: string;
}

/** A stack file's config: `secure:` values cannot be decrypted offline, so they become placeholders. */
export async function stackFileConfig(
  stack: string,
): Promise<{ values: Record<string, string>; secrets: string[] }> {
  const file = parse(await readFile(join(root, `Pulumi.${stack}.yaml`), "utf8")) as {
    config?: Record<string, unknown>;
  };
  const values: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(file.config ?? {})) {
    const name = key.includes(":") ? key.slice(key.indexOf(":") + 1) : key;
    if (value !== null && typeof value === "object" && "secure" in value) {
      values[name] = `[secret ${name}]`;
      secrets.push(name);
    } else values[name] = String(value);
  }
  return { values, secrets };
}

interface RegistrationRequest {
  getName(): string;
  getProtect(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getDependenciesList(): string[];
  getType(): string;
}
interface RegisteringMonitor {
  registerResource(request: RegistrationRequest, callback: unknown): unknown;
}

/** The directory the Pulumi CLI runs the program and its providers in: Pulumi.yaml's `main`. */
export async function programDirectory(): Promise<string> {
  const project = parse(await readFile(join(root, "Pulumi.yaml"), "utf8")) as { main?: string };
  return join(root, project.main ?? ".");
}

/** Runs `declare` with the working directory the CLI would give it, then restores the old one. */
export async function inProgramDirectory<T>(declare: () => T | Promise<T>): Promise<T> {
  const previous = process.cwd();
  process.chdir(await programDirectory());
  try {
    return await declare();
  } finally {
    process.chdir(previous);
  }
}

/** The token of the D1 migrations resource (a dynamic resource: `pulumi-nodejs:dynamic/<module>:<type>`). */
export const MIGRATIONS_TYPE = "pulumi-nodejs:dynamic/d1:Migrations";

const settle = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

/** Computed outputs a real provider would return, so dependent inputs resolve. */
function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (type === "cloudflare:index/queue:Queue") return { queueId: `${name}-id` };
  // A fresh database: the provider would apply every migration.
  if (type === MIGRATIONS_TYPE)
    return {
      applied: (inputs.migrations as { name: string; sha256: string }[]).map(({ name, sha256 }) => ({
        name,
        sha256,
      })),
    };
  if (type === "cloudflare:index/d1Database:D1Database")
    return { uuid: `00000000-0000-4000-8000-${name.length.toString().padStart(12, "0")}` };
  return {};
}

export async function runUnderMocks(
  stack: string,
  config: Record<string, string>,
  secretKeys: readonly string[] = [],
  bundle?: Bundle,
): Promise<MockRun> {
  const resources: RecordedResource[] = [];
  const options = new Map<
    string,
    Pick<RecordedResource, "protect" | "deleteBeforeReplace" | "ignoreChanges" | "dependsOn">
  >();
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        const {
          protect = false,
          deleteBeforeReplace = false,
          ignoreChanges = [],
          dependsOn = [],
        } = options.get(name) ?? {};
        const urn = `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
        resources.push({ type, name, inputs, protect, deleteBeforeReplace, ignoreChanges, dependsOn, urn });
        return { id: `${name}-id`, state: { ...inputs, ...computed(type, name, inputs) } };
      },
      call: ({ inputs }) => inputs,
    },
    PROJECT,
    stack,
    true,
  );
  // Resource options never reach the mock, so read them off the registration request.
  const monitor = (pulumi.runtime as unknown as { getMonitor(): RegisteringMonitor }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    options.set(request.getName(), {
      protect: request.getProtect() === true,
      deleteBeforeReplace: request.getDeletebeforereplace(),
      ignoreChanges: request.getIgnorechangesList(),
      dependsOn: request.getDependenciesList(),
    });
    return register(request, callback);
  };
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([key, value]) => [`${PROJECT}:${key}`, value])),
    secretKeys.map((key) => `${PROJECT}:${key}`),
  );
  const built = bundle ?? (await bundleWorker());
  const rawOutputs = await inProgramDirectory(() =>
    declareStack(readStackConfig(new pulumi.Config(PROJECT), stack), built),
  );
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rawOutputs))
    outputs[key] = await settle(value as pulumi.Output<unknown>);
  // Let registrations that no output waits for (consumers, cron) reach the mock.
  await new Promise((r) => setTimeout(r, 50));
  const directory = await programDirectory();
  return {
    resources,
    outputs,
    rawOutputs,
    bundle: built,
    programDirectory: relative(root, directory) || ".",
    contentFile: contentFile(built, directory),
  };
}

/** How a secret input reaches a mock: wrapped with Pulumi's signature. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export function isWrappedSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** The plain value inside any secret wrappers; a plan prints secret_text bindings by name only. */
export function unwrap(value: unknown): unknown {
  if (isWrappedSecret(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}
