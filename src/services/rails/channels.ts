/**
 * Payment channels as a lender configures them: the freshness window the stale-feed guardrail
 * watches (src/services/settings.ts, the same rows), and for the rails Lien takes payments from
 * itself, the provider's account identifiers, options, sealed secrets and the callback URLs the
 * lender registers with the provider.
 *
 * Callback URLs carry the channel id and a token derived from the master key (HMAC of the id), so
 * they are unguessable, need no storage, and every process computes the same ones. Safaricom
 * refuses callback URLs containing words such as "mpesa", "safaricom", "exec" or "query", so the
 * M-Pesa ones live under /rails/c2b/.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Kysely, Selectable } from 'kysely';
import { LienError } from '../../domain/errors.ts';
import type { DB, PaymentChannelsTable, PaymentChannelType } from '../../store/schema.ts';
import { aad, deriveKey, open, seal } from '../../store/secrets.ts';
import type { Actor, Services } from '../context.ts';
import { checkChannels, isStale } from '../settings.ts';
import { commit } from '../unit-of-work.ts';

export const CHANNEL_TYPES = ['mpesa_c2b', 'razorpay', 'signed_webhook', 'manual'] as const satisfies readonly PaymentChannelType[];

export const DARAJA_BASE_URLS = { sandbox: 'https://sandbox.safaricom.co.ke', production: 'https://api.safaricom.co.ke' } as const;
export type DarajaEnvironment = keyof typeof DARAJA_BASE_URLS;

export interface ChannelSecrets {
  /** M-Pesa: the Daraja app's consumer key and secret (OAuth for Register URL). */
  consumerKey?: string;
  consumerSecret?: string;
  /** Razorpay: the webhook secret set in the Razorpay dashboard. */
  webhookSecret?: string;
  /** Signed webhook: the secrets accepted; two while one is being rotated. */
  webhookSecrets?: string[];
}

export interface ChannelOptions {
  /** M-Pesa: which Daraja; baseUrl overrides it (a test server, a proxy). */
  environment?: DarajaEnvironment;
  baseUrl?: string;
  /** M-Pesa: what Safaricom does when the validation URL does not answer in time. */
  responseType?: 'Completed' | 'Cancelled';
  /** Source addresses (IPs or CIDR blocks) callbacks may come from; empty: any. */
  allowFrom?: string[];
}

export interface ChannelAccount {
  /** M-Pesa: the paybill (or till) short code. */
  shortCode?: string;
  /** Razorpay: the account (merchant) id, for the lender's reference. */
  accountId?: string;
}

export interface ChannelInput {
  channel: string;
  type: PaymentChannelType;
  freshnessMinutes: number;
  account?: ChannelAccount;
  options?: ChannelOptions;
  secrets?: ChannelSecrets;
}

export interface ChannelPatch extends Partial<Omit<ChannelInput, 'channel' | 'type'>> {
  /**
   * Signed webhook: accept this secret first and keep the current ones while senders move over.
   * Secrets are never shown again, so a rotation must not need the old one retyped.
   */
  addWebhookSecret?: string;
  /** Signed webhook: accept only the newest secret again, once every sender has moved over. */
  retireOlderWebhookSecrets?: boolean;
}

export interface CallbackUrls {
  validation?: string;
  confirmation?: string;
  webhook?: string;
}

export interface PaymentChannelView {
  id: string;
  channel: string;
  type: PaymentChannelType;
  freshnessMinutes: number;
  lastReportedAt: Date | null;
  stale: boolean;
  account: ChannelAccount;
  options: ChannelOptions;
  /** Which secrets are set (never their values). */
  secretsSet: string[];
  /** Signed webhook: how many secrets are accepted (more than one while a rotation is under way). */
  webhookSecretsAccepted?: number;
  callbackUrls: CallbackUrls;
}

export type ChannelRow = Selectable<PaymentChannelsTable>;

// ---------------------------------------------------------------------------------------------
// Callback URLs

function callbackKey(masterKey: Buffer): Buffer {
  return deriveKey(masterKey, 'payment channel callback');
}

/** 128 bits, hex: what makes a channel's callback URLs unguessable. */
export function callbackToken(masterKey: Buffer, channelId: string): string {
  return createHmac('sha256', callbackKey(masterKey)).update(channelId).digest('hex').slice(0, 32);
}

export function callbackTokenMatches(masterKey: Buffer, channelId: string, token: string): boolean {
  if (!/^[0-9a-f]{32}$/.test(token)) return false;
  return timingSafeEqual(Buffer.from(token), Buffer.from(callbackToken(masterKey, channelId)));
}

export function callbackUrls(s: Pick<Services, 'masterKey' | 'publicUrl'>, id: string, type: PaymentChannelType): CallbackUrls {
  const base = `${s.publicUrl.replace(/\/+$/, '')}/rails`;
  const token = callbackToken(s.masterKey, id);
  switch (type) {
    case 'mpesa_c2b':
      return { validation: `${base}/c2b/${id}/${token}/validation`, confirmation: `${base}/c2b/${id}/${token}/confirmation` };
    case 'razorpay':
      return { webhook: `${base}/razorpay/${id}/${token}` };
    case 'signed_webhook':
      return { webhook: `${base}/signed/${id}/${token}` };
    case 'manual':
      return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

const bad = (message: string, field: string) => new LienError('invalid_input', message, { field });

function checkSecret(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length < 8 || v.length > 256 || /\s/.test(v)) throw bad(`${field} must be 8 to 256 characters without spaces.`, `secrets.${field}`);
  return v;
}

function checkAllowFrom(list: unknown): string[] {
  if (!Array.isArray(list) || list.length > 50) throw bad('allowFrom is a list of at most 50 IP addresses or CIDR blocks.', 'options.allowFrom');
  return list.map((entry) => {
    const text = String(entry).trim();
    const [ip, prefix] = text.split('/');
    const family = isIP(ip ?? '');
    const max = family === 6 ? 128 : 32;
    if (family === 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
      throw bad(`allowFrom entry ${JSON.stringify(text)} is not an IP address or CIDR block (e.g. 196.201.214.0/24).`, 'options.allowFrom');
    }
    return text;
  });
}

function checkBaseUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw bad(`baseUrl ${JSON.stringify(v)} is not an absolute URL.`, 'options.baseUrl');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('baseUrl must be an https:// address.', 'options.baseUrl');
  return u.origin;
}

function checkAccount(type: PaymentChannelType, a: ChannelAccount = {}): ChannelAccount {
  const out: ChannelAccount = {};
  if (a.shortCode !== undefined) {
    if (!/^\d{5,7}$/.test(a.shortCode)) throw bad('shortCode is the paybill or till number: 5 to 7 digits.', 'account.shortCode');
    out.shortCode = a.shortCode;
  }
  if (a.accountId !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(a.accountId)) throw bad('accountId is 1 to 64 letters, digits, _ or -.', 'account.accountId');
    out.accountId = a.accountId;
  }
  if (type === 'mpesa_c2b' && !out.shortCode) throw bad('An M-Pesa C2B channel needs account.shortCode (the paybill number).', 'account.shortCode');
  return out;
}

function checkOptions(o: ChannelOptions = {}): ChannelOptions {
  const out: ChannelOptions = {};
  if (o.environment !== undefined) {
    if (!(o.environment in DARAJA_BASE_URLS)) throw bad('environment is sandbox or production.', 'options.environment');
    out.environment = o.environment;
  }
  if (o.baseUrl !== undefined) out.baseUrl = checkBaseUrl(o.baseUrl);
  if (o.responseType !== undefined) {
    if (o.responseType !== 'Completed' && o.responseType !== 'Cancelled') throw bad('responseType is Completed or Cancelled.', 'options.responseType');
    out.responseType = o.responseType;
  }
  if (o.allowFrom !== undefined) out.allowFrom = checkAllowFrom(o.allowFrom);
  return out;
}

function checkSecrets(type: PaymentChannelType, given: ChannelSecrets): ChannelSecrets {
  const out: ChannelSecrets = {};
  if (given.consumerKey !== undefined) out.consumerKey = checkSecret(given.consumerKey, 'consumerKey');
  if (given.consumerSecret !== undefined) out.consumerSecret = checkSecret(given.consumerSecret, 'consumerSecret');
  if (given.webhookSecret !== undefined) out.webhookSecret = checkSecret(given.webhookSecret, 'webhookSecret');
  if (given.webhookSecrets !== undefined) {
    if (!Array.isArray(given.webhookSecrets) || given.webhookSecrets.length < 1 || given.webhookSecrets.length > 3) {
      throw bad('webhookSecrets holds 1 to 3 secrets: the current one, and the old one while senders move over.', 'secrets.webhookSecrets');
    }
    out.webhookSecrets = given.webhookSecrets.map((v) => checkSecret(v, 'webhookSecrets'));
  }
  if (type === 'razorpay' && !out.webhookSecret) throw bad('A Razorpay channel needs secrets.webhookSecret (the one set on the webhook in the Razorpay dashboard).', 'secrets.webhookSecret');
  if (type === 'signed_webhook' && !out.webhookSecrets?.length) throw bad('A signed webhook channel needs secrets.webhookSecrets.', 'secrets.webhookSecrets');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

export function channelSecrets(masterKey: Buffer, row: Pick<ChannelRow, 'id' | 'secrets_enc'>): ChannelSecrets {
  if (!row.secrets_enc) return {};
  return JSON.parse(open(masterKey, row.secrets_enc, aad.paymentChannel(row.id)).toString('utf8')) as ChannelSecrets;
}

function sealSecrets(masterKey: Buffer, id: string, secrets: ChannelSecrets): Buffer | null {
  return Object.keys(secrets).length ? seal(masterKey, JSON.stringify(secrets), aad.paymentChannel(id)) : null;
}

export function viewChannel(s: Pick<Services, 'masterKey' | 'publicUrl'>, row: ChannelRow, now: Date): PaymentChannelView {
  const secrets = channelSecrets(s.masterKey, row);
  return {
    id: row.id,
    channel: row.channel,
    type: row.type,
    freshnessMinutes: row.freshness_minutes,
    lastReportedAt: row.last_reported_at,
    stale: isStale(row.last_reported_at, row.freshness_minutes, now),
    account: row.account as ChannelAccount,
    options: row.options as ChannelOptions,
    secretsSet: Object.keys(secrets).sort(),
    ...(secrets.webhookSecrets ? { webhookSecretsAccepted: secrets.webhookSecrets.length } : {}),
    callbackUrls: callbackUrls(s, row.id, row.type),
  };
}

export async function listChannels(s: Services, lenderId: string): Promise<PaymentChannelView[]> {
  const rows = await s.db.selectFrom('payment_channels').selectAll().where('lender_id', '=', lenderId).orderBy('channel').execute();
  const now = s.clock.now();
  return rows.map((r) => viewChannel(s, r, now));
}

async function ownChannel(db: Kysely<DB>, actor: Actor, id: string, lock = false): Promise<ChannelRow> {
  let q = db.selectFrom('payment_channels').selectAll().where('id', '=', id);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row || (actor.lenderId !== null && row.lender_id !== actor.lenderId)) throw new LienError('not_found', `No payment channel ${id}`, { channelId: id });
  return row;
}

export async function getChannel(s: Services, actor: Actor, id: string): Promise<PaymentChannelView> {
  return viewChannel(s, await ownChannel(s.db, actor, id), s.clock.now());
}

/**
 * The channel a provider callback names, when the path token is right; null otherwise (the
 * route answers 404 either way, so a probe learns nothing).
 */
export async function railChannel(s: Services, id: string, token: string, type: PaymentChannelType): Promise<ChannelRow | null> {
  if (!/^pch_[0-9a-z]{1,60}$/.test(id) || !callbackTokenMatches(s.masterKey, id, token)) return null;
  const row = await s.db.selectFrom('payment_channels').selectAll().where('id', '=', id).executeTakeFirst();
  return row && row.type === type ? row : null;
}

/** Whether a callback from `ip` may reach the channel (its allowFrom list; none: any address). */
export function sourceAllowed(row: Pick<ChannelRow, 'options'>, ip: string): boolean {
  const list = (row.options as ChannelOptions).allowFrom ?? [];
  if (list.length === 0) return true;
  const addr = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  const family = isIP(addr);
  if (family === 0) return false;
  const allowed = new BlockList();
  for (const entry of list) {
    const [net, prefix] = entry.split('/');
    const fam = isIP(net!) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) allowed.addAddress(net!, fam);
    else allowed.addSubnet(net!, Number(prefix), fam);
  }
  return allowed.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}

// ---------------------------------------------------------------------------------------------
// Use cases

export async function createChannel(s: Services, actor: Actor, lenderId: string, input: ChannelInput): Promise<PaymentChannelView> {
  if (!(CHANNEL_TYPES as readonly string[]).includes(input.type)) throw bad(`type is one of ${CHANNEL_TYPES.join(', ')}.`, 'type');
  const [named] = checkChannels([{ channel: input.channel, freshnessMinutes: input.freshnessMinutes }]);
  const account = checkAccount(input.type, input.account);
  const options = checkOptions(input.options);
  const secrets = checkSecrets(input.type, input.secrets ?? {});
  const row = await commit(s, actor, async (tx, fx) => {
    const taken = await tx.selectFrom('payment_channels').select('id').where('lender_id', '=', lenderId).where('channel', '=', named!.channel).executeTakeFirst();
    if (taken) throw new LienError('conflict', `A payment channel named ${named!.channel} exists already.`, { channelId: taken.id });
    const inserted = await tx
      .insertInto('payment_channels')
      .values({ lender_id: lenderId, channel: named!.channel, freshness_minutes: named!.freshnessMinutes, last_reported_at: fx.now, type: input.type, account, options })
      .returningAll()
      .executeTakeFirstOrThrow();
    const sealed = sealSecrets(s.masterKey, inserted.id, secrets);
    if (sealed) await tx.updateTable('payment_channels').set({ secrets_enc: sealed }).where('id', '=', inserted.id).execute();
    await fx.audit({
      action: 'payment_channel.created',
      subjectType: 'payment_channel',
      subjectId: inserted.id,
      lenderId,
      reason: `payment channel ${inserted.channel} (${input.type}) added`,
      data: { channel: inserted.channel, type: input.type, account, options, secretsSet: Object.keys(secrets) },
    });
    return { ...inserted, secrets_enc: sealed };
  });
  return viewChannel(s, row, s.clock.now());
}

/** Changes the fields given; secrets given are replaced one by one, the others kept. */
export async function updateChannel(s: Services, actor: Actor, id: string, patch: ChannelPatch): Promise<PaymentChannelView> {
  const row = await commit(s, actor, async (tx, fx) => {
    const cur = await ownChannel(tx, actor, id, true);
    const freshness = patch.freshnessMinutes === undefined ? cur.freshness_minutes : checkChannels([{ channel: cur.channel, freshnessMinutes: patch.freshnessMinutes }])[0]!.freshnessMinutes;
    const account = patch.account === undefined ? (cur.account as ChannelAccount) : checkAccount(cur.type, patch.account);
    const options = patch.options === undefined ? (cur.options as ChannelOptions) : checkOptions(patch.options);
    const secrets = checkSecrets(cur.type, rotateWebhookSecrets(cur.type, { ...channelSecrets(s.masterKey, cur), ...patch.secrets }, patch));
    const updated = await tx
      .updateTable('payment_channels')
      .set({ freshness_minutes: freshness, account, options, secrets_enc: sealSecrets(s.masterKey, cur.id, secrets) })
      .where('id', '=', cur.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await fx.audit({
      action: 'payment_channel.updated',
      subjectType: 'payment_channel',
      subjectId: cur.id,
      lenderId: cur.lender_id,
      reason: `payment channel ${cur.channel} changed: ${Object.keys(patch).join(', ') || 'nothing'}`,
      data: { freshnessMinutes: freshness, account, options, secretsChanged: secretsChanged(patch), webhookSecretsAccepted: secrets.webhookSecrets?.length },
    });
    return updated;
  });
  return viewChannel(s, row, s.clock.now());
}

/** A signed webhook's secrets after `addWebhookSecret` / `retireOlderWebhookSecrets`: newest first, three at most. */
function rotateWebhookSecrets(type: PaymentChannelType, secrets: ChannelSecrets, patch: ChannelPatch): ChannelSecrets {
  if (patch.addWebhookSecret === undefined && !patch.retireOlderWebhookSecrets) return secrets;
  const field = patch.addWebhookSecret === undefined ? 'retireOlderWebhookSecrets' : 'addWebhookSecret';
  if (type !== 'signed_webhook') throw bad(`${field} is for signed webhook channels, which accept several secrets while one rotates.`, field);
  let list = secrets.webhookSecrets ?? [];
  if (patch.addWebhookSecret !== undefined) {
    const added = checkSecret(patch.addWebhookSecret, 'addWebhookSecret');
    if (list.includes(added)) throw bad('That secret is accepted already.', 'addWebhookSecret');
    list = [added, ...list];
    if (list.length > 3 && !patch.retireOlderWebhookSecrets) throw bad('Three secrets are accepted at most: retire the older ones first.', 'addWebhookSecret');
  }
  if (patch.retireOlderWebhookSecrets) list = list.slice(0, 1);
  return { ...secrets, webhookSecrets: list };
}

function secretsChanged(patch: ChannelPatch): string[] {
  const names = Object.keys(patch.secrets ?? {});
  return patch.addWebhookSecret !== undefined || patch.retireOlderWebhookSecrets ? [...new Set([...names, 'webhookSecrets'])] : names;
}

/** Removes a channel: its callback URLs stop answering and it no longer counts for freshness. */
export async function deleteChannel(s: Services, actor: Actor, id: string): Promise<{ id: string; deleted: true }> {
  await commit(s, actor, async (tx, fx) => {
    const cur = await ownChannel(tx, actor, id, true);
    await tx.deleteFrom('payment_channels').where('id', '=', cur.id).execute();
    await fx.audit({ action: 'payment_channel.deleted', subjectType: 'payment_channel', subjectId: cur.id, lenderId: cur.lender_id, reason: `payment channel ${cur.channel} removed`, data: { channel: cur.channel, type: cur.type } });
  });
  return { id, deleted: true };
}
