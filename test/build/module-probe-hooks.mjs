// Module hooks of module-probe.mjs: one line per ES module (or CommonJS module imported from one) loaded.
import { appendFileSync } from 'node:fs';

let out;

export function initialize(data) {
  out = data.out;
}

export async function load(url, context, next) {
  appendFileSync(out, `${JSON.stringify({ pid: process.pid, esm: url })}\n`);
  return next(url, context);
}
