/**
 * The two documents that list the stack's settings, rendered from the settings table: the config
 * block of `Pulumi.yaml` and the README's table. `npm run settings` writes both; a test checks
 * that what is committed is what this renders.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  isRequired,
  SETTING_KEYS,
  SETTINGS,
  type Setting,
  type SettingKey,
} from "../worker/src/settings/table.ts";

const setting = (key: SettingKey): Setting => SETTINGS[key];
const vars = SETTING_KEYS.filter((k) => setting(k).kind === "var");
const secrets = SETTING_KEYS.filter((k) => setting(k).kind === "secret");

/** A plain YAML scalar where one reads back as the same value, else a quoted (JSON) string. */
const yamlScalar = (value: string | number | boolean) =>
  typeof value === "string" && (value === "" || /^[\s{["'&*!|>%@`#-]|: | #|\s$/.test(value))
    ? quoted(value)
    : String(value);

/** YAML's quoting as the formatter writes it: single quotes around text with double ones. */
const quoted = (value: string) =>
  value.includes('"') && !value.includes("'") ? `'${value}'` : JSON.stringify(value);

/** `Pulumi.yaml` from its `config:` line on. */
export function pulumiConfigBlock(): string {
  const lines = ["config:"];
  for (const key of vars) {
    const { type, doc, default: fallback } = setting(key);
    lines.push(
      `  ${key}:`,
      `    type: ${type}`,
      `    description: ${yamlScalar(`${doc}${isRequired(key) ? " Required." : ""}`)}`,
    );
    if (fallback !== undefined) lines.push(`    default: ${yamlScalar(fallback)}`);
  }
  lines.push("# Secrets, set per stack with `pulumi config set --secret`, never in this file:");
  const width = Math.max(...secrets.map((k) => k.length)) + 2;
  for (const key of secrets)
    lines.push(`#   ${key.padEnd(width)}${setting(key).doc}${isRequired(key) ? " Required." : ""}`);
  return `${lines.join("\n")}\n`;
}

function allowed({ range, choices, pattern, type }: Setting): string {
  if (choices) return choices.map((c) => `\`${c}\``).join(", ");
  if (range) return `${range[0].toLocaleString("en-US")}–${range[1].toLocaleString("en-US")}`;
  if (pattern) return pattern.expected;
  return type === "boolean" ? "`true`, `false`" : "any";
}

function shownDefault(key: SettingKey): string {
  const { default: fallback, optional } = setting(key);
  if (isRequired(key)) return "required";
  if (optional || fallback === "") return "none";
  return `\`${fallback}\``;
}

/** The README's table of settings, between its markers. */
export function settingsTable(): string {
  const rows = SETTING_KEYS.map((key) => {
    const s = setting(key);
    const cells = [
      `\`${key}\``,
      s.kind,
      shownDefault(key),
      allowed(s),
      s.binding ? `\`${s.binding}\`` : "",
      s.doc,
    ];
    return `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  });
  return [
    "| key | kind | default | allowed | worker binding | what it does |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

export const README_MARKERS = [
  "<!-- settings:start (npm run settings) -->",
  "<!-- settings:end -->",
] as const;

/** The two files as they should read, from their current text. */
export function renderedDocs(root: string): { path: string; text: string }[] {
  const pulumi = readFileSync(join(root, "Pulumi.yaml"), "utf8");
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const [start, end] = README_MARKERS;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return [
    { path: "Pulumi.yaml", text: pulumi.slice(0, pulumi.indexOf("\nconfig:\n") + 1) + pulumiConfigBlock() },
    {
      path: "README.md",
      text: `${readme.slice(0, from + start.length)}\n${settingsTable()}\n${readme.slice(to)}`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, "..");
  for (const { path, text } of renderedDocs(root)) writeFileSync(join(root, path), text);
  console.log("Pulumi.yaml and README.md now list the settings table.");
}
