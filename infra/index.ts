import { bundleWorker } from "../worker/build.ts";
import { readStackConfig } from "./config.ts";
import { declareStack } from "./resources.ts";

/** `pulumi up` / `pulumi preview` entry: config, the bundle, then every resource of the stack. */
const outputs = declareStack(readStackConfig(), await bundleWorker());

export const workerUrl = outputs.workerUrl;
export const scriptName = outputs.scriptName;
export const bundleSha256 = outputs.bundleSha256;
export const recoveryQueue = outputs.recoveryQueue;
export const deadLetterQueue = outputs.deadLetterQueue;
export const databaseId = outputs.databaseId;
export const migrations = outputs.migrations;
export const workflows = outputs.workflows;
