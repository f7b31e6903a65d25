import type { TestProject } from "vitest/node";
import { startBackend } from "../../worker/local/backend.ts";
import { TEST_BACKEND_TOKEN, TEST_SIGNING_SECRET } from "./settings.ts";

declare module "vitest" {
  export interface ProvidedContext {
    backendUrl: string;
  }
}

/** One reference backend on a free loopback port for every worker test file. */
export default async function setup(project: TestProject) {
  const backend = await startBackend({ token: TEST_BACKEND_TOKEN, signingSecrets: [TEST_SIGNING_SECRET] });
  project.provide("backendUrl", backend.url);
  return () => backend.close();
}
