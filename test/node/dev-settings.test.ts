import { expect, it } from "vitest";
import { DevSettingsError, devSettings } from "../../worker/local/dev-settings.ts";
import { RECONCILER } from "../../worker/src/topology.ts";

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

it("reads PLATFORM_FAULTS only when set, from the environment or .dev.vars", () => {
  expect(devSettings({}).platformFaults).toBeUndefined();
  expect(devSettings({ PLATFORM_FAULTS: '{"d1FailRate": 0.02, "seed": 7}' }).platformFaults).toEqual({
    d1FailRate: 0.02,
    seed: 7,
  });
  const fromFile = devSettings(
    {},
    'PLATFORM_FAULTS={"createRatePerSecond": 100, "queueSendFailRate": 0.1}\n',
  );
  expect(fromFile.platformFaults).toEqual({ createRatePerSecond: 100, queueSendFailRate: 0.1 });
  expect(devSettings({ PLATFORM_FAULTS: "{}" }).platformFaults).toEqual({});
});

it("refuses an unusable PLATFORM_FAULTS with a DevSettingsError naming the problem", () => {
  const error = (faults: string) => {
    try {
      devSettings({ PLATFORM_FAULTS: faults });
    } catch (e) {
      return e;
    }
    throw new Error(`accepted ${faults}`);
  };
  for (const [faults, problem] of [
    ["{nope", /not JSON/],
    ['{"d1FailRate": 1.5}', /d1FailRate/],
    ['{"createRatePerSecond": 2.5}', /createRatePerSecond/],
    ['{"seed": "seven"}', /seed/],
    ['{"d1FailRat": 0.1}', /d1FailRat/],
  ] as const) {
    const e = error(faults);
    expect(e).toBeInstanceOf(DevSettingsError);
    expect(e).toMatchObject({ name: "DevSettingsError", variable: "PLATFORM_FAULTS" });
    expect((e as Error).message).toMatch(/^PLATFORM_FAULTS is invalid: /);
    expect((e as Error).message).toMatch(problem);
  }
});

it("runs the scheduled handler every SCHEDULED_INTERVAL_SECONDS, 60 by default, 0 for never", () => {
  expect(devSettings({}).scheduledIntervalSeconds).toBe(RECONCILER.localIntervalSeconds);
  expect(devSettings({ SCHEDULED_INTERVAL_SECONDS: "5" }).scheduledIntervalSeconds).toBe(5);
  expect(devSettings({}, "SCHEDULED_INTERVAL_SECONDS=0.5\n").scheduledIntervalSeconds).toBe(0.5);
  expect(devSettings({ SCHEDULED_INTERVAL_SECONDS: "0" }).scheduledIntervalSeconds).toBe(0);
  for (const bad of ["-1", "soon", "Infinity"]) {
    expect(() => devSettings({ SCHEDULED_INTERVAL_SECONDS: bad })).toThrow(
      expect.objectContaining({ variable: "SCHEDULED_INTERVAL_SECONDS" }),
    );
  }
});

it("reads OPERATOR_TOKEN like AUTH_TOKEN, and makes one up (to print) when it is unset", () => {
  expect(devSettings({ OPERATOR_TOKEN: "op-env" }, "OPERATOR_TOKEN=op-file\n")).toMatchObject({
    operatorToken: "op-env",
    generatedOperatorToken: false,
  });
  expect(devSettings({}, "OPERATOR_TOKEN=op-file\nOPERATOR_TOKEN_NEXT=op-next\n")).toMatchObject({
    operatorToken: "op-file",
    operatorTokenNext: "op-next",
  });
  const generated = devSettings({});
  expect(generated.generatedOperatorToken).toBe(true);
  expect(generated.operatorToken).toMatch(/^op-[0-9a-f]{24}$/);
  expect(generated.operatorToken).not.toBe(generated.authToken);
});
