/** Credentials and knobs the test runtime is configured with; shared by config and tests. */
export const TEST_AUTH_TOKEN = "test-dispatch-token-0123456789";
export const TEST_BACKEND_TOKEN = "test-backend-token-9876543210";
/** Retries 100x faster: steps 10, 20, 40 ms; the recovery queue 1 s, 1 s, 3 s, ... */
export const TEST_RETRY_DELAY_SCALE = 0.01;
export const TEST_BACKEND_TIMEOUT_MS = 1500;
export const TEST_MAX_EVENTS = 300;
export const TEST_RATE_LIMIT = 5;
export const TEST_TENANT_RATE_LIMIT = 2;
/** Recovery deliveries before the dead-letter queue; production's 10 would take minutes. */
export const TEST_RECOVERY_MAX_RETRIES = 2;
/** The second accepted dispatch token, as during a rotation; the rate-limit tests use it as a second caller. */
export const TEST_AUTH_TOKEN_NEXT = "test-dispatch-token-next-5566778899";
/** Every callback in the worker tests is signed with this and verified by the reference backend. */
export const TEST_SIGNING_SECRET = "test-signing-secret-aabbccddeeff";
/** The operator API and the console accept only these. */
export const TEST_OPERATOR_TOKEN = "test-operator-token-4455667788";
export const TEST_OPERATOR_TOKEN_NEXT = "test-operator-token-next-1122334455";
/** Secret values that must never appear in any log line of a test run. */
export const TEST_SECRETS = [
  TEST_AUTH_TOKEN,
  TEST_AUTH_TOKEN_NEXT,
  TEST_BACKEND_TOKEN,
  TEST_SIGNING_SECRET,
  TEST_OPERATOR_TOKEN,
  TEST_OPERATOR_TOKEN_NEXT,
];

/**
 * The limits project's limits on the backend: notifications at 4 calls a second, and at most 2
 * calls in flight per tenant (each tenant's calls, every path).
 */
export const TEST_BACKEND_LIMITS = {
  "notification/create": { perSecond: 4 },
  perTenant: { inFlight: 2 },
};
