import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { newId } from '../../src/store/ids.ts';
import type { DB } from '../../src/store/schema.ts';

export const T0 = new Date('2026-03-10T09:00:00Z');

export async function insertLender(db: Kysely<DB>, opts: { name?: string; currency?: string; timeZone?: string } = {}): Promise<string> {
  const id = newId('len');
  await db
    .insertInto('lenders')
    .values({
      id,
      name: opts.name ?? 'Jamii Credit',
      support_phone: '+254700000001',
      support_url: 'https://help.jamii.example',
      how_to_pay: 'M-Pesa paybill 123456',
      currency: opts.currency ?? 'KES',
      time_zone: opts.timeZone ?? 'Africa/Nairobi',
      compliance_profile: JSON.stringify({}),
      allocation_order: JSON.stringify(['penalty', 'fee', 'interest', 'principal']),
      created_at: T0,
    })
    .execute();
  return id;
}

let serial = 0;

export async function insertContract(
  db: Kysely<DB>,
  lenderId: string,
  opts: { language?: string; phone?: string; currency?: string; amountOverdue?: number; lockReference?: string } = {},
): Promise<string> {
  serial++;
  const deviceId = newId('dev');
  const imei = `35${String(Date.now() % 1e9).padStart(9, '0')}${String(serial).padStart(4, '0')}`;
  await db
    .insertInto('devices')
    .values({
      id: deviceId,
      imei1: imei,
      serial: `SN-${imei}`,
      model: 'Test Phone',
      factory_secret_enc: Buffer.alloc(32, 1),
      sale_status: 'financed',
      lender_id: lenderId,
      created_at: T0,
    })
    .execute();
  const id = newId('con');
  await db
    .insertInto('contracts')
    .values({
      id,
      lender_id: lenderId,
      device_id: deviceId,
      borrower_ref: `B-${serial}`,
      borrower_phone: opts.phone ?? '+254712345678',
      borrower_language: opts.language ?? 'en',
      currency: opts.currency ?? 'KES',
      financed: 1_200_000,
      terms: JSON.stringify({}),
      status: 'active',
      stage: 'current',
      lock_reference: opts.lockReference ?? `LR${serial}${Date.now() % 100000}`,
      notice_index: null,
      oldest_unpaid_due_date: null,
      amount_overdue: opts.amountOverdue ?? 0,
      outstanding: 1_200_000,
      manual_action: null,
      policy_version: 0,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
  return id;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 (random port). `respond` decides each answer; it may be async
 * (to hold a request open) and gets the raw body exactly as received.
 */
export async function startReceiver(
  respond: (req: ReceivedRequest, index: number) => Promise<{ status: number; body?: string }> | { status: number; body?: string },
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const index = requests.push(r) - 1;
      Promise.resolve(respond(r, index)).then(
        (answer) => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'text/plain' });
          res.end(answer.body ?? '');
        },
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/lien`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
