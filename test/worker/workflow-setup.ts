import { VALID_PAYLOADS } from "../support/payloads.ts";

export const payout = VALID_PAYLOADS["payment/process-payout"].payload;

export const PAYOUT_STEPS = [
  "payment/validate-payout",
  "payment/process-payout",
  "payment/notify-payout-status",
];
