/** Provider payloads from test/fixtures/rails/, with their {{placeholders}} filled in. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceAgent } from '../../src/agent/agent.ts';
import { HttpNetwork } from '../../src/agent/http-network.ts';
import { MemoryScreen, MemoryStore } from '../../src/agent/memory.ts';
import { provisionDevice } from '../../src/agent/provision.ts';
import type { TestDevice, TestPlatform } from '../e2e/in-process.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'rails');

export function fixture(name: string, values: Record<string, string | number> = {}): string {
  const text = readFileSync(join(dir, name), 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (m, key: string) => (key in values ? String(values[key]) : m));
  if (/\{\{[A-Z_]+\}\}/.test(text)) throw new Error(`${name}: unfilled placeholder in ${text}`);
  return text;
}

export async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: r.status, body: parsed };
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An enrolled agent that keeps the nudge stream open, as phones do. */
export async function streamingAgent(p: TestPlatform, d: TestDevice): Promise<DeviceAgent> {
  const persistent = new MemoryStore();
  await provisionDevice(persistent, { factorySecret: d.secret, imeis: [d.imei], serial: d.serial });
  const agent = new DeviceAgent({ persistent, userdata: new MemoryStore(), clock: p.clock, network: new HttpNetwork({ baseUrl: p.url }), screen: new MemoryScreen() });
  await agent.boot();
  return agent;
}

/**
 * TestPlatform.driveToLock for several streaming agents at once: their background syncs (nudged
 * by the sweeps) race the explicit ones, so sweep and sync until every one is locked.
 */
export async function lockStreaming(p: TestPlatform, agents: DeviceAgent[]): Promise<void> {
  for (const a of agents) await a.sync();
  p.clock.set('2026-01-17T07:00:00Z');
  await p.operator('POST', '/v1/operator/sweep');
  for (let i = 0; i < 3; i++) for (const a of agents) await a.sync();
  await p.lien.gateway.idle();
  p.clock.set('2026-01-22T07:00:00Z');
  for (let i = 0; i < 5 && agents.some((a) => a.view().mode !== 'locked'); i++) {
    await p.operator('POST', '/v1/operator/sweep');
    for (const a of agents) await a.sync();
    await p.lien.gateway.idle();
  }
}

/** A callback URL as the provider would call it, aimed at the test server's port. */
export function local(p: TestPlatform, callbackUrl: string): string {
  const u = new URL(callbackUrl);
  return `${p.url}${u.pathname}${u.search}`;
}
