import type { EventName } from "../../worker/src/events/catalog.ts";

const item = { name: "Course", price: "19.90", quantity: 1 };
const notification = { title: "Hello", message: "World", type: "info" };

/** A valid payload for every event in the catalog, and the field whose removal breaks it. */
export const VALID_PAYLOADS: Record<EventName, { payload: Record<string, unknown>; required: string }> = {
  "email/reset-password": {
    payload: { email: "ann@example.com", userName: "Ann", otpCode: "123456" },
    required: "otpCode",
  },
  "email/new-account-credentials": {
    payload: {
      email: "ann@example.com",
      userName: "Ann",
      temporaryPassword: "t3mp!",
      loginUrl: "https://app.example.com/login",
      tenantName: "Acme",
    },
    required: "temporaryPassword",
  },
  "email/change-email-verification": {
    payload: { newEmail: "new@example.com", oldEmail: "old@example.com", userName: "Ann", otpCode: "1" },
    required: "newEmail",
  },
  "email/verification": { payload: { email: "ann@example.com", otpCode: "42" }, required: "email" },
  "email/cart-recovery": {
    payload: {
      toEmail: "ann@example.com",
      subject: "You left something",
      userName: "Ann",
      cartItems: [item],
      cartTotal: 19.9,
      recoveryUrl: "https://shop.example.com/cart",
      recoveryToken: "tok",
      tenantName: "Acme",
    },
    required: "cartItems",
  },
  "email/invitation": {
    payload: {
      email: "bob@example.com",
      inviterName: "Ann",
      tenantName: "Acme",
      role: "admin",
      invitationUrl: "https://app.example.com/invite/1",
      expiresAt: "2026-12-01T00:00:00.000Z",
    },
    required: "expiresAt",
  },
  "email/enrollment-confirmation": {
    payload: { email: "ann@example.com", courseName: "TS", userName: "Ann", tenantName: "Acme" },
    required: "courseName",
  },
  "email/trial-reminder": {
    payload: {
      email: "ann@example.com",
      userName: "Ann",
      planName: "Pro",
      planPrice: 29,
      currency: "USD",
      daysRemaining: 3,
      billingUrl: "https://app.example.com/billing",
    },
    required: "planPrice",
  },
  "email/payment-receipt": {
    payload: {
      email: "ann@example.com",
      customerName: "Ann",
      amount: "19.90",
      currency: "USD",
      transactionId: "tx_1",
      items: [item],
      tenantName: "Acme",
    },
    required: "items",
  },
  "email/withdrawal-status": {
    payload: {
      email: "ann@example.com",
      ownerName: "Ann",
      amount: 100,
      currency: "USD",
      status: "success",
      transactionId: "tx_2",
      tenantName: "Acme",
    },
    required: "status",
  },
  "email/failed-payment-alert": {
    payload: {
      email: "admin@example.com",
      adminName: "Root",
      customerName: "Ann",
      amount: "5",
      currency: "EUR",
      transactionId: "tx_3",
      tenantName: "Acme",
      reason: "card declined",
    },
    required: "adminName",
  },
  "email/refund-confirmation": {
    payload: {
      email: "ann@example.com",
      customerName: "Ann",
      amount: 5,
      currency: "EUR",
      transactionId: "tx_4",
      tenantName: "Acme",
    },
    required: "transactionId",
  },
  "notification/create": {
    payload: { tenantId: "t_1", userId: "u_1", notification },
    required: "userId",
  },
  "notification/create-for-customer": {
    payload: { tenantId: "t_1", customerId: "c_1", notification },
    required: "customerId",
  },
  "notification/bulk-create": {
    payload: { tenantId: "t_1", notification, userIds: ["u_1", "u_2"] },
    required: "notification",
  },
  "payment/process-payout": {
    payload: { tenantId: "t_1", transactionId: "tx_5", walletId: "w_1", amount: "250.00", currency: "USD" },
    required: "walletId",
  },
  "whatsapp/send-template": {
    payload: {
      tenantId: "t_1",
      recipientPhone: "+15550100",
      templateKey: "order_shipped",
      triggerEvent: "order.shipped",
      variables: { name: "Ann" },
    },
    required: "templateKey",
  },
};
