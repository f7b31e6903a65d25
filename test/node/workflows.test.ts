import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * The GitHub workflows, checked against the environments they may use (.github/environments.yml):
 * the rules a security reviewer signs off, enforced on every change.
 */
const root = join(import.meta.dirname, "..", "..");
// biome-ignore lint/suspicious/noExplicitAny: workflow YAML of many shapes, read by field name.
type Yaml = Record<string, any>;

interface Environment {
  writes: boolean;
  reviewers: boolean;
  branches: "any" | string[];
  stacks: string[];
  secrets: Record<string, string>;
}

const read = async (path: string) => parse(await readFile(join(root, path), "utf8")) as Yaml;
const environments = (await read(".github/environments.yml")) as Record<string, Environment>;
const files = (await readdir(join(root, ".github", "workflows"))).filter((f) => f.endsWith(".yml"));
const workflows = Object.fromEntries(
  await Promise.all(files.map(async (f) => [f, await read(`.github/workflows/${f}`)] as const)),
);
const stackFiles = (await readdir(root)).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f));
const STACKS = stackFiles.map((f) => f.slice("Pulumi.".length, -".yaml".length)).sort();
const packageJson = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

const triggers = (workflow: Yaml) =>
  typeof workflow.on === "string"
    ? [workflow.on]
    : Array.isArray(workflow.on)
      ? workflow.on
      : Object.keys(workflow.on);
/**
 * Every secret a value can read. `secrets.NAME` is named; any other use of the `secrets` context
 * (`secrets['NAME']`, `toJSON(secrets)`, `secrets: inherit`) reads them all and counts as `*`.
 */
const secretsIn = (value: unknown) => {
  const text = JSON.stringify(value ?? {});
  const named = [...text.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
  const any = /secrets(?!\.[A-Za-z_])/.test(text.replace(/"secrets":"inherit"/g, "secrets"));
  return any ? [...named, "*"] : named;
};

/** Each run of a job: its matrix expanded, with the environment and stacks it names. */
function runsOf(job: Yaml): { environment: string | undefined; stacks: string[] }[] {
  const matrix = job.strategy?.matrix;
  const rows: Yaml[] =
    matrix?.include ?? (matrix?.stack ? matrix.stack.map((stack: string) => ({ stack })) : [{}]);
  return rows.map((row) => {
    const fill = (text: string) =>
      text.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_, key) => String(row[key]));
    const text = fill(JSON.stringify(job.steps));
    // A stack is named after the org (`$PULUMI_ORG/prod`, `vars.PULUMI_ORG }}/prod`), by
    // `stack-name`, or by `--stack`: every form counts, so none slips past the rules.
    const stacks = [
      ...text.matchAll(/PULUMI_ORG(?: \}\})?\/([\w-]+)/g),
      ...text.matchAll(/"stack-name":"(?:[^"/]*\/)*([\w-]+)"/g),
      ...text.matchAll(/--stack[ =]\\?"?(?:[^"\s/]*\/)*([\w-]+)/g),
    ].map((m) => m[1] as string);
    return {
      environment: job.environment === undefined ? undefined : fill(String(job.environment)),
      stacks: [...new Set(stacks)],
    };
  });
}

const jobs = Object.entries(workflows).flatMap(([file, workflow]) =>
  Object.entries(workflow.jobs as Yaml).map(([name, job]) => ({ file, name, workflow, job: job as Yaml })),
);

describe("GitHub workflows", () => {
  it("cover every stack file and use only declared environments", () => {
    expect(STACKS).toEqual(expect.arrayContaining(["dev", "prod", "staging"]));
    for (const { file, name, job } of jobs)
      for (const run of runsOf(job)) {
        if (run.environment !== undefined)
          expect(environments, `${file} ${name}`).toHaveProperty(run.environment);
      }
  });

  it.each(files)("%s grants no permission by default, and each job only what it uses", (file) => {
    const workflow = workflows[file] as Yaml;
    expect(workflow.permissions).toEqual({});
    for (const [name, job] of Object.entries(workflow.jobs as Yaml)) {
      const comments = JSON.stringify(job.steps).includes('"comment-on-pr":true');
      expect(job.permissions, name).toEqual(
        comments ? { contents: "read", "pull-requests": "write" } : { contents: "read" },
      );
      expect(job["runs-on"], name).toBeTruthy();
      expect(job["timeout-minutes"], name).toBeGreaterThan(0);
    }
  });

  it.each(files)("%s pins every action to a commit and the Pulumi CLI to the SDK's version", (file) => {
    const pulumiVersion = packageJson.dependencies["@pulumi/pulumi"];
    for (const [, job] of Object.entries((workflows[file] as Yaml).jobs as Yaml)) {
      for (const step of job.steps as Yaml[]) {
        if (!step.uses) continue;
        expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        if (String(step.uses).startsWith("pulumi/actions@"))
          expect(step.with["pulumi-version"]).toBe(pulumiVersion);
        if (String(step.uses).startsWith("actions/checkout@"))
          expect(step.with["persist-credentials"]).toBe(false);
      }
    }
  });

  it("reads secrets only in jobs gated by an environment that holds them", () => {
    for (const { file, name, workflow, job } of jobs) {
      expect(secretsIn(workflow.env), `${file} top-level env`).toEqual([]);
      const used = secretsIn(job).filter((s) => s !== "GITHUB_TOKEN");
      for (const run of runsOf(job)) {
        if (used.length === 0) continue;
        expect(run.environment, `${file} ${name} reads ${used} without an environment`).toBeDefined();
        const held = Object.keys(environments[run.environment ?? ""]?.secrets ?? {});
        for (const secret of used) expect(held, `${file} ${name}: ${secret}`).toContain(secret);
      }
    }
  });

  it("never lets pull-request code reach a writing token or the production stack", () => {
    for (const { file, name, workflow, job } of jobs) {
      const on = triggers(workflow);
      expect(on, file).not.toContain("pull_request_target");
      if (!on.includes("pull_request")) continue;
      for (const run of runsOf(job)) {
        if (run.environment === undefined) {
          expect(secretsIn(job), `${file} ${name}`).toEqual([]);
          continue;
        }
        const environment = environments[run.environment] as Environment;
        expect(environment.writes, `${file} ${name} uses ${run.environment}`).toBe(false);
        expect(environment.stacks, `${file} ${name}`).not.toContain("prod");
      }
    }
  });

  it("touches each stack only through an environment declared for it", () => {
    for (const { file, name, job } of jobs)
      for (const run of runsOf(job)) {
        // Without a secret a job holds no credentials (the offline plan): it reaches no stack.
        if (run.stacks.length === 0 || secretsIn(job).length === 0) continue;
        const allowed = environments[run.environment ?? ""]?.stacks ?? [];
        for (const stack of run.stacks) expect(allowed, `${file} ${name} → ${stack}`).toContain(stack);
      }
  });

  it("puts every environment that can change prod behind reviewers and the main branch", () => {
    for (const [name, environment] of Object.entries(environments)) {
      if (environment.stacks.includes("prod")) expect(environment.branches, name).toEqual(["main"]);
      if (environment.stacks.includes("prod") && environment.writes)
        expect(environment.reviewers, name).toBe(true);
      if (environment.writes) expect(environment.branches, name).not.toBe("any");
    }
  });

  it("deploys staging on merge, previews prod on main, then deploys prod behind the approval, smoke-testing each", () => {
    const deploy = workflows["deploy.yml"] as Yaml;
    expect(triggers(deploy).sort()).toEqual(["push", "workflow_dispatch"]);
    expect(deploy.on.push.branches).toEqual(["main"]);
    expect(deploy.jobs.staging).toMatchObject({ needs: "test", environment: "staging" });
    expect(deploy.jobs["preview-production"]).toMatchObject({
      needs: "staging",
      environment: "production-read",
    });
    expect(deploy.jobs.production).toMatchObject({ needs: "preview-production", environment: "production" });
    for (const [job, stack] of [
      ["staging", "staging"],
      ["production", "prod"],
    ] as const) {
      const runs = (deploy.jobs[job].steps as Yaml[]).map((s) => s.run).filter(Boolean);
      expect(runs).toContain(`npm run deploy -- --stack "$PULUMI_ORG/${stack}"`);
    }
    const preview = (deploy.jobs["preview-production"].steps as Yaml[]).find((s) =>
      String(s.uses).startsWith("pulumi/actions@"),
    );
    expect(preview?.with).toMatchObject({
      command: "preview",
      "stack-name": "\u0024{{ vars.PULUMI_ORG }}/prod",
    });
  });

  it("previews dev and staging on pull requests with a comment", () => {
    const preview = workflows["preview.yml"] as Yaml;
    expect(triggers(preview)).toEqual(["pull_request"]);
    expect(preview.jobs.preview.strategy.matrix.stack).toEqual(["dev", "staging"]);
    const step = (preview.jobs.preview.steps as Yaml[]).find((s) =>
      String(s.uses).startsWith("pulumi/actions@"),
    );
    expect(step?.with).toMatchObject({ command: "preview", "comment-on-pr": true });
  });

  it("checks every stack for drift on a schedule", () => {
    const drift = workflows["drift.yml"] as Yaml;
    expect(drift.on.schedule[0].cron).toBeTruthy();
    expect(
      runsOf(drift.jobs.drift)
        .flatMap((r) => r.stacks)
        .sort(),
    ).toEqual(STACKS);
    const step = (drift.jobs.drift.steps as Yaml[]).find((s) => String(s.uses).startsWith("pulumi/actions@"));
    expect(step?.with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
  });
});
