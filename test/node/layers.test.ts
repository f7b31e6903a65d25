import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const src = join(root, "worker", "src");

/**
 * The worker's layers, lowest first: a folder (or a top-level file, by its name) imports only
 * from layers below its own, so nothing reaches back up and siblings in one layer (the HTTP API
 * and the console among them) never import each other. `env` is the one exception: `Env` names
 * its bindings' types, so it may name a type from anywhere.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["topology", "compatibility", "env"],
  ["log", "signing", "lifecycle", "events"],
  ["settings"],
  ["store", "limiter"],
  ["backend", "instances"],
  ["recovery", "alerts"],
  ["operations"],
  ["dispatch"],
  ["reconciler", "workflows"],
  ["edge"],
  ["http", "console"],
  ["app"],
  ["index"],
];

const layerOf = new Map(LAYERS.flatMap((folders, rank) => folders.map((f) => [f, rank] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** `store/events.ts` → "store"; `app.ts` → "app". */
const unitOf = (file: string) =>
  relative(src, file)
    .split("/")[0]
    ?.replace(/\.tsx?$/, "") ?? "";

interface Edge {
  from: string;
  to: string;
}

function imports(): Edge[] {
  return sources(src).flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, "utf8"), true, true)
      .importedFiles.filter((i) => i.fileName.startsWith("."))
      .map((i) => ({
        from: relative(src, file),
        to: relative(src, resolve(dirname(file), i.fileName)),
      })),
  );
}

describe("the worker's layers", () => {
  const edges = imports();

  it("places every folder and top-level file in a layer", () => {
    const units = new Set(sources(src).map(unitOf));
    expect([...units].filter((u) => !layerOf.has(u))).toEqual([]);
    expect([...layerOf.keys()].filter((u) => !units.has(u))).toEqual([]);
  });

  it("has no import that runs up or sideways, other than Env naming its bindings' types", () => {
    const upwards = edges.filter(({ from, to }) => {
      const [a, b] = [unitOf(join(src, from)), unitOf(join(src, to))];
      if (a === b || a === "env") return false;
      return (layerOf.get(b) ?? Number.POSITIVE_INFINITY) >= (layerOf.get(a) ?? -1);
    });
    expect(upwards.map(({ from, to }) => `${from} -> ${to}`)).toEqual([]);
  });

  it("keeps the HTTP API and the console apart", () => {
    const between = edges.filter(({ from, to }) => {
      const pair = [unitOf(join(src, from)), unitOf(join(src, to))].sort().join(" ");
      return pair === "console http";
    });
    expect(between).toEqual([]);
  });

  it("sees the imports it judges (a check that finds none proves nothing)", () => {
    expect(edges.some((e) => e.from === "app.ts" && e.to.startsWith("console/"))).toBe(true);
    expect(edges.length).toBeGreaterThan(200);
  });
});

describe("file sizes", () => {
  const LIMIT = 250;
  const folders = ["worker", "infra", "test"].map((f) => join(root, f));
  it(`keeps every source file under ${LIMIT} lines`, () => {
    const long = folders
      .flatMap(sources)
      .filter((f) => !f.includes("node_modules"))
      .map((f) => ({ file: relative(root, f), lines: readFileSync(f, "utf8").split("\n").length - 1 }))
      .filter((f) => f.lines >= LIMIT);
    expect(long).toEqual([]);
  });
});
