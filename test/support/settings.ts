/** Credentials and knobs the test runtime is configured with; shared by config and tests. */
export const TEST_AUTH_TOKEN = "test-dispatch-token-0123456789";
export const TEST_BACKEND_TOKEN = "test-backend-token-9876543210";
/** Step retries 100x faster: 10 ms, 20 ms, 40 ms. */
export const TEST_RETRY_DELAY_SCALE = 0.01;
export const TEST_BACKEND_TIMEOUT_MS = 1500;
export const TEST_MAX_EVENTS = 300;
export const TEST_RATE_LIMIT = 5;
