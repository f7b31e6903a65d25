import type { Setting } from "./setting.ts";
import { SECRET_SETTINGS } from "./stack-secrets.ts";
import { VAR_SETTINGS } from "./stack-vars.ts";

export type { Setting } from "./setting.ts";

/**
 * Every setting a stack can make, declared once: the stack reader (`infra/config.ts`), the
 * worker's checks (`vars.ts`), `Pulumi.yaml`'s config block and the README's table all derive
 * from this table (the last two are generated: `npm run settings`, checked by a test).
 */
export const SETTINGS = { ...VAR_SETTINGS, ...SECRET_SETTINGS } as const;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** A setting the stack must make (no default, not optional). */
export const isRequired = (key: SettingKey): boolean => {
  const setting: Setting = SETTINGS[key];
  return setting.default === undefined && !setting.optional;
};

/** The command that sets a key, as errors and the docs show it. */
export function setCommand(key: SettingKey): string {
  const setting: Setting = SETTINGS[key];
  const value = setting.example ?? String(setting.default);
  return `pulumi config set ${setting.kind === "secret" ? "--secret " : ""}${key} ${value}`;
}

/** The whole-number range of an integer setting (its choices' span, if it lists choices). */
export function rangeOf(key: SettingKey): readonly [number, number] {
  const setting: Setting = SETTINGS[key];
  if (setting.range) return setting.range;
  const numbers = (setting.choices ?? []).filter((c): c is number => typeof c === "number");
  if (numbers.length === 0) throw new Error(`${key} has no range`);
  return [Math.min(...numbers), Math.max(...numbers)];
}
