/** One setting of a stack, as the settings table declares it. */
export interface Setting {
  /** A secret is set with `pulumi config set --secret` and reaches the worker as a secret binding. */
  kind: "var" | "secret";
  type: "string" | "integer" | "boolean";
  /** What it does, one line: Pulumi.yaml's description and the README's. */
  doc: string;
  /** Absent: required, unless `optional`. */
  default?: string | number | boolean;
  /** No default, and none needed (a secret that may be unset, say). */
  optional?: true;
  /** Whole numbers from min to max. */
  range?: readonly [number, number];
  /** The only values allowed. */
  choices?: readonly (string | number)[];
  /** What a text must look like, and how to say it in an error. */
  pattern?: { test: { test(text: string): boolean }; expected: string };
  /** The value `pulumi config set` is shown with when it is missing or wrong. */
  example?: string;
  /** The worker binding it sets, when it sets one. */
  binding?: string;
}
