import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Ed25519 signatures on a second thread, for large batches. A bulk import signs one policy per
 * contract (~38 µs each here, ~4 s for 100,000) on the thread where PGlite's queries also run;
 * handed to this thread, the signing overlaps the writes.
 *
 * The thread runs CommonJS from a string, so it needs no TypeScript loader under tsx, vitest or
 * plain node. It only keeps the process alive while a batch is in flight.
 */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
parentPort.on('message', ({ id, key, messages }) => {
  try {
    parentPort.postMessage({ id, sigs: messages.map((m) => sign(null, Buffer.from(m, 'utf8'), key).toString('base64url')) });
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.message) || e) });
  }
});
`;

interface Reply {
  id: number;
  sigs?: string[];
  error?: string;
}

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve(sigs: string[]): void; reject(e: Error): void }>();

function failAll(e: Error): void {
  for (const p of pending.values()) p.reject(e);
  pending.clear();
  worker = null;
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(SOURCE, { eval: true });
  w.on('message', (r: Reply) => {
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (pending.size === 0) w.unref();
    if (r.sigs) p.resolve(r.sigs);
    else p.reject(new Error(`signing thread: ${r.error}`));
  });
  w.on('error', (e) => failAll(e));
  w.on('exit', (code) => failAll(new Error(`signing thread exited with code ${code}`)));
  w.unref();
  return (worker = w);
}

/** Signs each message (UTF-8 text) with `key`; base64url signatures in the same order. */
export function signOnThread(key: KeyObject, messages: string[]): Promise<string[]> {
  const w = thread();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, key, messages });
  });
}
