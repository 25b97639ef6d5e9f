/**
 * Many headless simulated phones against one server, for load and demo: each syncs at start, on
 * every nudge and on a routine interval. No screens; `counts()` says where the fleet stands.
 */
import { parse } from 'csv-parse/sync';
import type { Clock } from '../../domain/clock.ts';
import { LienError } from '../../domain/errors.ts';
import type { ScreenMode } from '../ports.ts';
import { MemoryStore } from '../memory.ts';
import type { Network } from '../ports.ts';
import { provisionDevice } from '../provision.ts';
import { SimPhone } from './sim-phone.ts';

export interface FleetDevice {
  imeis: string[];
  serial: string;
  /** 32 bytes. */
  secret: Buffer;
}

/** Phones from a factory manifest CSV (imei1, imei2, serial, …, factory_secret as 64 hex). */
export function fleetFromManifest(csv: string): FleetDevice[] {
  let rows: Record<string, string>[];
  try {
    rows = parse(csv, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), bom: true, trim: true, skip_empty_lines: true, relax_column_count: true });
  } catch (e) {
    throw new LienError('invalid_input', `the manifest is not valid CSV: ${(e as Error).message}`);
  }
  return rows.map((r, i) => {
    const line = i + 2;
    const secret = r.factory_secret ?? '';
    if (!r.imei1 || !r.serial) throw new LienError('invalid_input', `manifest line ${line}: imei1 and serial are required`, { line });
    if (!/^[0-9a-fA-F]{64}$/.test(secret)) throw new LienError('invalid_input', `manifest line ${line}: factory_secret must be 64 hex characters`, { line });
    return { imeis: r.imei2 ? [r.imei1, r.imei2] : [r.imei1], serial: r.serial, secret: Buffer.from(secret, 'hex') };
  });
}

export interface FleetCounts {
  phones: number;
  enrolled: number;
  modes: Record<ScreenMode, number>;
  errors: number;
}

export interface FleetOptions {
  clock: Clock;
  /** One network per phone (each holds its own streams). */
  network: () => Network;
  /** Syncs in flight at once, so a large fleet does not arrive as one burst. */
  concurrency?: number;
}

const MODES: ScreenMode[] = ['normal', 'reminder', 'notice', 'restricted', 'locked', 'released', 'dormant'];

export class Fleet {
  readonly phones: SimPhone[] = [];
  private readonly serials = new Map<SimPhone, string>();
  private errors = 0;
  private stopped = false;

  constructor(private readonly opts: FleetOptions) {}

  async start(devices: FleetDevice[]): Promise<void> {
    for (const d of devices) {
      const persistent = new MemoryStore();
      await provisionDevice(persistent, { factorySecret: d.secret, imeis: d.imeis, serial: d.serial });
      const phone = new SimPhone({
        persistent,
        userdata: new MemoryStore(),
        clock: this.opts.clock,
        network: this.opts.network(),
        lang: 'en',
        onBackgroundError: () => this.errors++,
      });
      await phone.boot();
      this.phones.push(phone);
      this.serials.set(phone, d.serial);
    }
    await this.syncAll();
  }

  /**
   * Takes the phone of `serial` out of the fleet, still running (enrolled, its stream open), for
   * someone else to drive — the browser emulator (see hand-off.ts). Null if the fleet has none.
   */
  release(serial: string): SimPhone | null {
    const i = this.phones.findIndex((p) => this.serials.get(p) === serial);
    if (i < 0) return null;
    const [phone] = this.phones.splice(i, 1);
    this.serials.delete(phone!);
    return phone!;
  }

  /** A routine check-in of every phone still active. */
  async syncAll(): Promise<void> {
    const queue = this.phones.filter((p) => !p.agent.isTerminal());
    const worker = async () => {
      for (let p = queue.shift(); p && !this.stopped; p = queue.shift()) {
        const outcome = await p.sync();
        if (!outcome.ok) this.errors++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 8, queue.length) }, worker));
  }

  /** Re-reads every phone's enforcement at the clock (offline locks fall due without a sync). */
  async tickAll(): Promise<void> {
    for (const p of this.phones) await p.tick();
  }

  counts(): FleetCounts {
    const modes = Object.fromEntries(MODES.map((m) => [m, 0])) as Record<ScreenMode, number>;
    let enrolled = 0;
    for (const p of this.phones) {
      modes[p.agent.view().mode]++;
      if (p.agent.deviceId() !== null) enrolled++;
    }
    return { phones: this.phones.length, enrolled, modes, errors: this.errors };
  }

  stop(): void {
    this.stopped = true;
    for (const p of this.phones) p.stop();
  }
}

export function summaryLine(c: FleetCounts): string {
  const m = c.modes;
  return (
    `enrolled ${c.enrolled}/${c.phones} · normal ${m.normal} · reminder ${m.reminder} · notice ${m.notice} · restricted ${m.restricted}` +
    ` · locked ${m.locked} · released ${m.released} · dormant ${m.dormant} · errors ${c.errors}`
  );
}
