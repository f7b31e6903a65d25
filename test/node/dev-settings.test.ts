import { expect, it } from "vitest";
import { devSettings } from "../../worker/local/dev-settings.ts";

const file = "AUTH_TOKEN=from-file\nBACKEND_URL=http://file.example\nRETRY_DELAY_SCALE=0.5\n";

it("prefers the environment over .dev.vars", () => {
  const settings = devSettings({ AUTH_TOKEN: "from-env", BACKEND_URL: "http://env.example" }, file);
  expect(settings).toMatchObject({
    authToken: "from-env",
    generatedToken: false,
    backendUrl: "http://env.example",
    retryDelayScale: 0.5,
  });
});

it("falls back to .dev.vars, then to defaults", () => {
  expect(devSettings({}, file)).toMatchObject({ authToken: "from-file", backendUrl: "http://file.example" });
  const defaults = devSettings({});
  expect(defaults).toMatchObject({ port: 8787, backendPort: 8788, retryDelayScale: 1, generatedToken: true });
  expect(defaults.backendUrl).toBeUndefined();
  expect(defaults.authToken).toMatch(/^dev-[0-9a-f]{24}$/);
});

it("reads the signing secret, the next token and the rate limit", () => {
  const settings = devSettings({ SIGNING_SECRET: "s", AUTH_TOKEN_NEXT: "n", RATE_LIMIT: "42" });
  expect(settings).toMatchObject({ signingSecret: "s", authTokenNext: "n", rateLimit: 42 });
  expect(devSettings({}).rateLimit).toBeUndefined();
});

it("treats an empty variable as unset", () => {
  expect(devSettings({ AUTH_TOKEN: "" }, file).authToken).toBe("from-file");
});
