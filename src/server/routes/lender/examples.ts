/**
 * The examples of the API reference, telling one story: Jamii Finance (KES, Africa/Nairobi)
 * sells a phone on credit, the borrower falls behind, the phone locks, a payment unlocks it. The
 * same ids recur, so a reader can follow a contract from one endpoint to the next. Each example
 * is checked against its schema by test/api/openapi-lint.test.ts.
 */

export const EX = {
  lenderId: 'lnd_01jhq2n5c8d9e3f4g6h7j8k9m0',
  deviceId: 'dev_01jhq3a7b2c4d6e8f0g1h3j5k7',
  contractId: 'ctr_01jhq3v8r6x2m4k9t0b5n7c2d1',
  paymentId: 'pay_01jj2m7q9r1s3t5v7w9x1y3z5a',
  claimId: 'clm_01jj1k4m6n8p0q2r4s6t8v0w2x',
  disputeId: 'dsp_01jj0h2j4k6m8n0p2q4r6s8t0v',
  tokenId: 'tok_01jj2p3q5r7s9t1v3w5x7y9z1a',
  webhookId: 'wh_01jhq4b6c8d0e2f4g6h8j0k2m4',
  deliveryId: 'whd_01jj2m7r1s3t5v7w9x1y3z5a7b',
  eventId: 'evt_01jj2m7q9s2t4v6w8x0y2z4a6b',
  apiKeyId: 'key_01jhq4c7d9e1f3g5h7j9k1m3n5',
  userId: 'usr_01jhq4d8e0f2g4h6j8k0m2n4p6',
  importId: 'imp_01jj3a1b3c5d7e9f1g3h5j7k9m',
  imei: '356938035643809',
  serial: 'R58N90ABCDE',
  lockReference: 'K7Q2M9XA',
  /** A nextCursor as the API returns it (opaque: pass it back unchanged). */
  cursor: 'WyJjdHJfMDFqaHEzdjhyNngybTRrOXQwYjVuN2MyZDEiXQ',
  soldAt: '2026-01-05T09:12:44.000Z',
  paidAt: '2026-02-18T07:41:03.000Z',
} as const;

/** The lender as the lock screen presents it. */
export const LENDER_EXAMPLE = {
  name: 'Jamii Finance',
  supportPhone: '+254700000111',
  supportUrl: 'https://jamii.example/help',
  supportHours: 'Mon–Sat 8:00–18:00',
  howToPay: 'M-Pesa Paybill 123456, account: your lock reference',
  currency: 'KES',
  timeZone: 'Africa/Nairobi',
};

export const CONTRACT_EXAMPLE = {
  id: EX.contractId,
  device_id: EX.deviceId,
  borrower_ref: 'CUST-10442',
  status: 'active',
  stage: 'current',
  stage_reason: 'arrears_cleared',
  amount_overdue: 0,
  outstanding: 2000000,
  currency: 'KES',
  lock_reference: EX.lockReference,
  manual_action: null,
};

export const PAYMENT_EXAMPLE = {
  id: EX.paymentId,
  contract_id: EX.contractId,
  external_ref: 'SGH7K2M9QX',
  channel: 'mpesa',
  amount: 1000000,
  currency: 'KES',
  received_at: EX.paidAt,
  posted_at: EX.paidAt,
  posted_by: `api_key:${EX.apiKeyId}`,
  reversed_at: null,
  reversal_reason: null,
};

export const DEVICE_EXAMPLE = {
  id: EX.deviceId,
  imei1: EX.imei,
  imei2: null,
  serial: EX.serial,
  model: 'Model A',
  enrolled_at: '2026-01-05T09:20:02.000Z',
  last_seen_at: '2026-02-18T07:41:06.000Z',
  agent_version: '1.4.0',
  policy_version_held: 6,
  released_at: null,
};

export const CLAIM_EXAMPLE = {
  id: EX.claimId,
  contractId: EX.contractId,
  deviceId: EX.deviceId,
  number: 'C-7K3M9Q2X',
  transactionRef: 'SGF2X8P4LM',
  amount: 1000000,
  currency: 'KES',
  paidOn: '2026-02-16',
  channel: 'mobile_money',
  hasReceipt: true,
  liftedLock: true,
  status: 'open',
  message: null,
  createdAt: '2026-02-16T18:03:29.000Z',
  decidedAt: null,
  decidedBy: null,
};

export const WEBHOOK_EXAMPLE = {
  id: EX.webhookId,
  url: 'https://erp.jamii.example/lien/events',
  events: ['payment.posted', 'device.locked', 'device.unlocked'],
  active: true,
  createdAt: '2026-01-02T10:00:00.000Z',
};

export const DELIVERY_EXAMPLE = {
  id: EX.deliveryId,
  webhookId: EX.webhookId,
  eventId: EX.eventId,
  eventType: 'payment.posted',
  status: 'delivered',
  attempts: 1,
  nextAttemptAt: null,
  lastStatusCode: 200,
  lastError: null,
  createdAt: EX.paidAt,
  deliveredAt: '2026-02-18T07:41:04.000Z',
};

export const API_KEY_EXAMPLE = {
  id: EX.apiKeyId,
  name: 'ERP integration',
  scopes: ['read', 'write'],
  createdAt: '2026-01-02T10:00:00.000Z',
  revokedAt: null,
  lastUsedAt: EX.paidAt,
};

export const USER_EXAMPLE = {
  id: EX.userId,
  email: 'wanjiru@jamii.example',
  name: 'Wanjiru Kamau',
  role: 'support',
  createdAt: '2026-01-02T10:05:00.000Z',
  disabledAt: null,
};

export const AUDIT_EXAMPLE = {
  seq: 1843,
  at: EX.paidAt,
  actor: `api_key:${EX.apiKeyId}`,
  action: 'device.unlocked',
  subject_type: 'device',
  subject_id: EX.deviceId,
  reason: 'payment SGH7K2M9QX posted; stage locked → current (arrears_cleared)',
  data: { contractId: EX.contractId, from: 'locked', to: 'current', daysPastDue: 0, policyVersion: 6 },
  hash: '9f2c4e1a7b3d5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7',
};
