import type { TestPlatform } from '../e2e/in-process.ts';

export interface PageResponse {
  status: number;
  html: string;
  headers: Headers;
}

export async function get(p: TestPlatform, path: string, headers: Record<string, string> = {}): Promise<PageResponse> {
  const r = await fetch(`${p.url}${path}`, { headers, redirect: 'manual' });
  return { status: r.status, html: await r.text(), headers: r.headers };
}

export async function postForm(p: TestPlatform, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<PageResponse> {
  const r = await fetch(`${p.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
  return { status: r.status, html: await r.text(), headers: r.headers };
}

export async function postClaim(
  p: TestPlatform,
  fields: Record<string, string>,
  receipt?: { bytes: Uint8Array; name: string; type: string },
  headers: Record<string, string> = {},
): Promise<PageResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (receipt) form.append('receipt', new Blob([Uint8Array.from(receipt.bytes)], { type: receipt.type }), receipt.name);
  const r = await fetch(`${p.url}/portal/claim`, { method: 'POST', body: form, headers });
  return { status: r.status, html: await r.text(), headers: r.headers };
}

/** A real, tiny PNG (1×1), so the receipt is type-checked by content, not by name. */
export const PNG_1PX = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000154a24f9d0000000049454e44ae426082',
  'hex',
);

export function text(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The value of the element carrying `data-testid`. */
export function testId(html: string, id: string): string | null {
  const m = new RegExp(`data-testid="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return m ? text(m[1]!) : null;
}

/** Lookups and claims count against per-address limits; tests start each case with a clean slate. */
export async function resetRateLimits(p: TestPlatform): Promise<void> {
  await p.lien.services.db.deleteFrom('rate_limits').execute();
}
