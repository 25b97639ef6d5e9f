import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { LIEN_FROM_SOURCES } from '../e2e/server-process.ts';
import { driveToLock, issueCode, until } from './helpers.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `lien device` as a child process, driven through a pipe like a person at a terminal. */
class CliPhone {
  out = '';
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.proc = spawn(process.execPath, [...LIEN_FROM_SOURCES, 'device', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    this.proc.stdout.on('data', (d) => (this.out += d));
    this.proc.stderr.on('data', (d) => (this.out += d));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  /** Sends a command and returns where its output starts. */
  send(line: string): number {
    const mark = this.out.length;
    this.proc.stdin.write(`${line}\n`);
    return mark;
  }

  /** The last screen drawn after `from`, once it matches. */
  async screen(match: RegExp, from = 0, ms = 45_000): Promise<string> {
    return until(`screen matching ${match} in:\n${this.out.slice(from)}`, () => {
      const screens = this.out.slice(from).split(/(?=╭─\[ )/);
      const last = screens[screens.length - 1]!;
      return last.startsWith('╭─[ ') && match.test(last) ? last : null;
    }, ms);
  }

  async quit(): Promise<number | null> {
    this.proc.stdin.end('quit\n');
    return this.exited;
  }
}

describe('lien device: one phone on a terminal', () => {
  const p = new TestPlatform();
  const stateDir = mkdtempSync(join(tmpdir(), 'lien-sim-'));
  let d: TestDevice;
  let sale: { deviceId: string; lockReference: string };
  const phones: CliPhone[] = [];
  const start = (clock: string, ...extra: string[]) => {
    const phone = new CliPhone(['--server', p.url, '--state-dir', stateDir, '--clock', clock, ...extra]);
    phones.push(phone);
    return phone;
  };

  beforeAll(async () => {
    await p.start();
    d = (await p.register(1))[0]!;
    sale = await p.sell(d!);
  }, 180_000);
  afterAll(async () => {
    for (const ph of phones) if (ph.proc.exitCode === null) ph.proc.kill('SIGKILL');
    await p.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('provisions, enrolls and shows NORMAL; locks with the reference; survives a restart; a real code unlocks it', async () => {
    const phone = start('2026-01-01T06:00:00Z', '--imei', d.imei, '--serial', d.serial, '--secret', d.secret.toString('hex'));
    const normal = await phone.screen(/\[ NORMAL \]/);
    expect(normal).toContain('Lender: Jamii Finance');
    expect(normal).toMatch(/synced \(enrolled\)/);
    expect(normal).toMatch(/network online · stream open/);

    await driveToLock(p, sale.deviceId, {
      moveClock: async (iso) => {
        await phone.screen(new RegExp(`phone clock now ${iso.slice(0, 16)}`), phone.send(`clock ${iso}`));
      },
      shows: async (mode) => {
        await phone.screen(new RegExp(`\\[ ${mode.toUpperCase()} \\]`));
      },
    });
    const locked = await phone.screen(/\[ LOCKED \]/);
    expect(locked).toContain('THIS PHONE IS LOCKED');
    expect(locked).toContain(`Lock reference: ${sale.lockReference}`);
    expect(locked).toContain('Amount due: Ksh\u00a010,000.00');
    expect(locked).toContain('Emergency calls always work.');
    expect(locked).toContain('Support phone: +254700000111');

    let at = phone.send('call 112');
    await phone.screen(/call to 112: allowed/, at);
    at = phone.send('call +254799999999');
    await phone.screen(/call to \+254799999999: blocked/, at);

    // The lock lives in the state directory: a restart draws it before any network call.
    expect(await phone.quit()).toBe(0);
    expect(phone.out).toContain('phone stopped');
    const again = start('2026-01-22T07:00:00Z');
    const relocked = await again.screen(/\[ LOCKED \]/);
    expect(relocked).toContain(`Lock reference: ${sale.lockReference}`);

    at = again.send('code 111111111');
    const wrong = await again.screen(/did not work/, at);
    expect(wrong).toContain('[ LOCKED ]');

    const token = await issueCode(p, sale.deviceId);
    at = again.send(`code ${token}`);
    const unlocked = await again.screen(/\[ NORMAL \]/, at);
    expect(unlocked).toMatch(/Code accepted\. Unlocking… Unlocked until 29 January 2026 at 10:0\d\./);

    // Offline and a week on, the credit runs out and the signed lock is back, without a network.
    at = again.send('offline');
    await again.screen(/network OFFLINE/, at);
    at = again.send('clock +10d');
    const expired = await again.screen(/\[ LOCKED \]/, at);
    expect(expired).toMatch(/phone clock now 2026-02-01T07:0/);
    expect(expired).toContain('stream closed');
    expect(await again.quit()).toBe(0);
  }, 180_000);

  it('says what went wrong: a bad command, a wrong factory secret, a bad option, no server', async () => {
    const other = mkdtempSync(join(tmpdir(), 'lien-sim-'));
    try {
      const impostor = new CliPhone(['--server', p.url, '--state-dir', other, '--imei', d.imei, '--serial', d.serial, '--secret', randomBytes(32).toString('hex')]);
      phones.push(impostor);
      // A wrong secret is answered like an unknown phone (#12 L8), so the impostor goes dormant.
      await impostor.screen(/does not know this phone as financed \(or its factory secret is not the registered one\)/);
      const at = impostor.send('fly away');
      await impostor.screen(/unknown command "fly"; type help/, at);
      expect(await impostor.quit()).toBe(0);

      // The state directory keeps its phone: another identity is refused.
      const swapped = new CliPhone(['--server', p.url, '--state-dir', other, '--imei', d.imei, '--serial', 'SN-OTHER', '--secret', d.secret.toString('hex')]);
      expect(await swapped.exited).toBe(1);
      expect(swapped.out).toMatch(/already holds phone .* Use another --state-dir/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    const badSecret = new CliPhone(['--server', p.url, '--imei', d.imei, '--serial', d.serial, '--secret', 'abc']);
    expect(await badSecret.exited).toBe(2);
    expect(badSecret.out).toContain('--secret must be the factory secret as 64 hex characters');
    const noServer = new CliPhone(['--server', 'http://127.0.0.1:9', '--imei', d.imei, '--serial', d.serial, '--secret', d.secret.toString('hex')]);
    expect(await noServer.exited).toBe(1);
    expect(noServer.out).toMatch(/cannot reach a Lien server at http:\/\/127\.0\.0\.1:9/);
  }, 180_000);
});

describe('lien device --fleet', () => {
  const p = new TestPlatform();
  const dir = mkdtempSync(join(tmpdir(), 'lien-fleet-'));
  afterAll(async () => {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeAll(async () => {
    await p.start();
  }, 180_000);

  it('runs headless phones from a manifest, reports a summary, and stops cleanly on SIGINT', async () => {
    const sold = await p.register(2);
    const [retail] = await p.register(1, 'retail');
    for (const x of sold) await p.sell(x);
    const manifest = join(dir, 'fleet.csv');
    writeFileSync(
      manifest,
      ['imei1,imei2,serial,model,factory_secret,sale_status', ...[...sold, retail!].map((x) => `${x.imei},,${x.serial},Model A,${x.secret.toString('hex')},unsold`)].join('\n'),
    );
    const fleet = new CliPhone(['--server', p.url, '--fleet', '3', '--manifest', manifest, '--report-interval', '1', '--clock', '2026-01-01T06:00:00Z']);
    await until('a full summary', () => /enrolled 2\/3 · normal 2 · .* dormant 1 · errors 0/.test(fleet.out), 30_000);
    fleet.proc.kill('SIGINT');
    expect(await fleet.exited).toBe(0);
    expect(fleet.out).toMatch(/stopped: .*enrolled 2\/3/);

    const tooMany = new CliPhone(['--server', p.url, '--fleet', '4', '--manifest', manifest]);
    expect(await tooMany.exited).toBe(1);
    expect(tooMany.out).toContain('--fleet 4 asks for more phones than');
  }, 180_000);
});
