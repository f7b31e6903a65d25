/**
 * Types of `./worker.js`, the real bundle the wrapper imports at run time (esbuild leaves that
 * import external): exactly what the worker's entry module exports.
 */
export * from "../../src/index.ts";
export { default } from "../../src/index.ts";
