import { expect, it } from "vitest";
import { consoleCost } from "../bench/bundle-size.ts";

it("the console adds at most 30 KB gzipped to the uploaded bundle", async () => {
  const cost = await consoleCost();
  console.log(`console: +${cost.added} bytes gzipped (${cost.withoutConsole} → ${cost.withConsole})`);
  // Measured, not assumed: the stubbed bundle really is smaller.
  expect(cost.added).toBeGreaterThan(1000);
  expect(cost.added).toBeLessThanOrEqual(30 * 1024);
});
