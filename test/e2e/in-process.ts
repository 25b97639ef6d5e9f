import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import type { Network } from '../../src/agent/ports.ts';
import type { CheckinResponse } from '../../src/protocol/index.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { imeiCheckDigit } from '../../src/domain/imei.ts';
import { buildLien, type Lien } from '../../src/server/app.ts';
import type { PhoneHandOff } from '../../src/agent/sim/hand-off.ts';
import { loadConfig, type Config } from '../../src/server/config.ts';
import type { DestinationStream } from 'pino';
import { openTestDb } from '../store/helpers.ts';

export function testImei(n: number): string {
  const body = `35${String(700000000000 + n).padStart(12, '0')}`;
  return body + String(imeiCheckDigit(body));
}

export interface TestDevice {
  imei: string;
  serial: string;
  secret: Buffer;
}

/**
 * The whole server in this process (real HTTP on a loopback port, real database from
 * openTestDb) on a manual clock, with helpers to onboard a lender, register and sell devices
 * and run agents against it.
 */
export class TestPlatform {
  lien!: Lien;
  url!: string;
  lenderKey!: string;
  lenderId!: string;
  readonly clock: ManualClock;
  private dataDir = mkdtempSync(join(tmpdir(), 'lien-it-'));
  readonly operatorKey = `op_${randomBytes(12).toString('hex')}`;
  private n = 0;

  /** `logTo` captures the server's log lines (silent without it); `dlc` starts the Android Device Lock port. */
  constructor(
    start = '2026-01-01T06:00:00Z',
    private readonly opts: { dlc?: boolean; logTo?: DestinationStream; config?: Partial<Config>; phoneHandOff?: PhoneHandOff } = {},
  ) {
    this.clock = new ManualClock(start);
  }

  /** Where a self-signed Android Device Lock certificate is made (with `dlc`). */
  get dataDirectory(): string {
    return this.dataDir;
  }

  async start(): Promise<this> {
    process.env.LIEN_OPERATOR_KEY = this.operatorKey;
    const database = await openTestDb();
    const config = loadConfig({ LIEN_DATA_DIR: this.dataDir, LIEN_CHECKIN_FLUSH_MS: '10', ...(this.opts.dlc ? { LIEN_DLC_PORT: '0' } : {}) } as NodeJS.ProcessEnv, { port: 0, ...this.opts.config });
    process.env.LIEN_MASTER_KEY ??= randomBytes(32).toString('hex');
    const logging = this.opts.logTo ? { logDestination: this.opts.logTo } : { logger: false };
    this.lien = await buildLien(config, { clock: this.clock, database, jobs: false, ...logging, ...(this.opts.phoneHandOff ? { phoneHandOff: this.opts.phoneHandOff } : {}) });
    const close = this.lien.close;
    this.lien.close = async () => {
      await close();
      await database.close();
      rmSync(this.dataDir, { recursive: true, force: true });
    };
    await this.lien.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = this.lien.app.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    const lender = await this.api('POST', '/v1/operator/lenders', {
      name: 'Jamii Finance',
      supportPhone: '+254700000111',
      supportUrl: 'https://jamii.example',
      howToPay: 'M-Pesa paybill 123456',
      currency: 'KES',
      timeZone: 'Africa/Nairobi',
      profile: 'retail-short-cycle',
    }, this.operatorKey);
    if (lender.status !== 201) throw new Error(JSON.stringify(lender.body));
    this.lenderKey = lender.body.apiKey;
    this.lenderId = lender.body.id;
    return this;
  }

  async stop(): Promise<void> {
    await this.lien?.close();
  }

  async api(method: string, path: string, body?: unknown, key = this.lenderKey, contentType = 'application/json'): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  operator(method: string, path: string, body?: unknown, contentType?: string) {
    return this.api(method, path, body, this.operatorKey, contentType);
  }

  /** Registers devices in the factory manifest. */
  async register(count: number, saleStatus: 'unsold' | 'retail' = 'unsold'): Promise<TestDevice[]> {
    const devices = Array.from({ length: count }, () => {
      const i = this.n++;
      return { imei: testImei(i + Math.floor(Math.random() * 1e9)), serial: `SN-${i}-${randomBytes(3).toString('hex')}`, secret: randomBytes(32) };
    });
    const csv = ['imei1,imei2,serial,model,factory_secret,sale_status', ...devices.map((d) => `${d.imei},,${d.serial},Model A,${d.secret.toString('hex')},${saleStatus}`)].join('\n');
    const r = await this.operator('POST', '/v1/operator/manifests', csv, 'text/csv');
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return devices;
  }

  async sell(d: TestDevice, over: Record<string, unknown> = {}): Promise<{ contractId: string; deviceId: string; lockReference: string }> {
    const r = await this.api('POST', '/v1/sales', {
      imei: d.imei,
      borrowerRef: d.serial,
      borrowerPhone: '+254711000222',
      schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' },
      consent: { at: this.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
      ...over,
    });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return r.body;
  }

  async agent(d: TestDevice, wrap?: (n: Network) => Network) {
    const persistent = new MemoryStore();
    await provisionDevice(persistent, { factorySecret: d.secret, imeis: [d.imei], serial: d.serial });
    const http = new HttpNetwork({ baseUrl: this.url });
    const screen = new MemoryScreen();
    const userdata = new MemoryStore();
    const agent = new DeviceAgent({ persistent, userdata, clock: this.clock, network: wrap ? wrap(http) : http, screen, stream: false });
    await agent.boot();
    return { agent, screen, persistent, userdata };
  }

  /**
   * Walks a phone sold with the default schedule (due 15 Jan, retail profile) to a lock: the
   * notice is issued, displayed and reported, its period runs out, the sweep locks.
   */
  async driveToLock(agent: DeviceAgent): Promise<void> {
    await agent.sync();
    this.clock.set('2026-01-17T07:00:00Z');
    await this.operator('POST', '/v1/operator/sweep');
    await agent.sync();
    await agent.sync();
    // The notice_shown report is evaluated in the background; a sweep overlapping it would skip the
    // locked row (SKIP LOCKED) and leave it to its next run.
    await this.lien.gateway.idle();
    this.clock.set('2026-01-22T07:00:00Z');
    await this.operator('POST', '/v1/operator/sweep');
    await agent.sync();
  }

  async events(deviceId: string): Promise<{ kind: string; detail: any }[]> {
    await this.lien.gateway.bookkeeping.flush();
    return this.lien.services.db.selectFrom('device_events').select(['kind', 'detail']).where('device_id', '=', deviceId).orderBy('id').execute();
  }
}

/**
 * A man in the middle between an agent and the real server: forwards everything and lets a test
 * rewrite check-in answers (return undefined to pass one through unchanged).
 */
export function manInTheMiddle(rewrite: () => ((answer: CheckinResponse) => CheckinResponse | undefined) | null) {
  return (inner: Network): Network => ({
    nonce: () => inner.nonce(),
    enroll: (r) => inner.enroll(r),
    connectStream: (...a) => inner.connectStream(...a),
    async checkin(id, h, b) {
      const r = await inner.checkin(id, h, b);
      const edit = rewrite();
      const edited = r.ok && edit ? edit(r.body) : undefined;
      return edited ? { ok: true, body: edited } : r;
    },
  });
}
