/**
 * The borrower-messages page of a device (issue #15): every SMS the borrower was sent about the
 * phone's contracts and every note put on its screen, newest first, each with where its delivery
 * stands. A screen note is on the phone once the phone reports holding the policy that carries
 * it; a later note replaces it.
 */
import { LienError } from '../../domain/errors.ts';
import type { Db } from './console.ts';
import { deliveryState, type DeliveryState } from '../notifications.ts';

export type ScreenDelivery = 'on_screen' | 'waiting_for_phone' | 'replaced';

export interface ScreenMessageRow {
  id: string;
  at: Date;
  template: string;
  params: { amount?: number; date?: string };
  texts: Record<string, string>;
  policyVersion: number;
  sentBy: string;
  status: ScreenDelivery;
}

export interface SmsRow {
  id: string;
  at: Date;
  kind: string;
  language: string;
  recipient: string;
  body: string;
  /** How far it got (notifications.ts deliveryState): queued, sent, delivered, or failed and why. */
  status: DeliveryState['state'];
  reason: string | null;
  sentAt: Date | null;
}

export interface DeviceMessagesView {
  device: { id: string; serial: string; policyVersionHeld: number; lastSeenAt: Date | null };
  contract: { id: string; currency: string; lockReference: string; borrowerLanguage: string; stage: string; status: string } | null;
  screen: ScreenMessageRow[];
  sms: SmsRow[];
}

const LIMIT = 100;

export function screenDelivery(row: { policy_version: number }, heldVersion: number, newestId: string | null, id: string): ScreenDelivery {
  if (newestId !== null && id !== newestId) return 'replaced';
  return heldVersion >= row.policy_version ? 'on_screen' : 'waiting_for_phone';
}

export async function deviceMessages(db: Db, lenderId: string, deviceId: string): Promise<DeviceMessagesView> {
  const device = await db.selectFrom('devices').select(['id', 'serial', 'policy_version_held', 'last_seen_at']).where('id', '=', deviceId).where('lender_id', '=', lenderId).executeTakeFirst();
  if (!device) throw new LienError('not_found', `No device ${deviceId}`);
  const contracts = await db
    .selectFrom('contracts')
    .select(['id', 'currency', 'lock_reference', 'borrower_language', 'stage', 'status', 'screen_note'])
    .where('device_id', '=', device.id)
    .where('lender_id', '=', lenderId)
    .orderBy('created_at', 'desc')
    .execute();
  const ids = contracts.map((c) => c.id);
  const [notes, sms] = ids.length
    ? await Promise.all([
        db.selectFrom('device_messages').selectAll().where('device_id', '=', device.id).where('lender_id', '=', lenderId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIMIT).execute(),
        db.selectFrom('notifications').selectAll().where('contract_id', 'in', ids).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIMIT).execute(),
      ])
    : [[], []];
  const current = contracts[0] ?? null;
  const showing = current?.screen_note?.id ?? null;
  return {
    device: { id: device.id, serial: device.serial, policyVersionHeld: device.policy_version_held, lastSeenAt: device.last_seen_at },
    contract: current && { id: current.id, currency: current.currency, lockReference: current.lock_reference, borrowerLanguage: current.borrower_language, stage: current.stage, status: current.status },
    screen: notes.map((n) => ({
      id: n.id,
      at: n.created_at,
      template: n.template,
      params: n.params,
      texts: n.texts,
      policyVersion: n.policy_version,
      sentBy: n.created_by,
      status: screenDelivery(n, device.policy_version_held, showing, n.id),
    })),
    sms: sms.map((n) => ({ id: n.id, at: n.created_at, kind: n.kind, language: n.language, recipient: n.recipient, body: n.body, ...delivery(n), sentAt: n.sent_at })),
  };
}

function delivery(n: Parameters<typeof deliveryState>[0]): { status: DeliveryState['state']; reason: string | null } {
  const d = deliveryState(n);
  return { status: d.state, reason: d.reason };
}
