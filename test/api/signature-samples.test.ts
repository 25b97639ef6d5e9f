import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/services/webhooks.ts';
import { webhookEventExample } from '../../src/server/routes/lender/webhook-events.ts';
import { SIGNATURE_SAMPLES } from '../../src/web/api-reference.tsx';

const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/**
 * The signature checks the API reference shows (shell, Node, Python) run here, as printed,
 * against signatures the server makes: right body → accepted, one byte changed → refused.
 */
describe('signature samples of the API reference', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lien-sig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secret = 'whsec_5mXq3nV8dK2pL7rT9wZ4bC6fH1jN0sY3';
  const body = JSON.stringify(webhookEventExample('payment.posted'));
  const header = signWebhook(secret, Math.floor(Date.now() / 1000), body);
  const tampered = body.replace('1000000', '9000000');

  it('Node.js', () => {
    writeFileSync(join(dir, 'verify.mjs'), SIGNATURE_SAMPLES.node);
    const run = (b: string) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', `import { verifyLienSignature } from ${JSON.stringify(join(dir, 'verify.mjs'))}; console.log(verifyLienSignature(process.argv[1], process.argv[2], Buffer.from(process.argv[3])))`, secret, header, b], { encoding: 'utf8' }).trim();
    expect(run(body)).toBe('true');
    expect(run(tampered)).toBe('false');
  });

  it.skipIf(!hasPython)('Python', () => {
    writeFileSync(join(dir, 'verify.py'), SIGNATURE_SAMPLES.python);
    const run = (b: string) =>
      execFileSync('python3', ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(dir)}); from verify import verify_lien_signature as v; print(v(sys.argv[1], sys.argv[2], sys.argv[3].encode()))`, secret, header, b], { encoding: 'utf8' }).trim();
    expect(run(body)).toBe('True');
    expect(run(tampered)).toBe('False');
  });

  it.skipIf(!hasOpenssl)('shell: checking a saved delivery', () => {
    const script = SIGNATURE_SAMPLES.shell.replace(/^sig=.*$/m, `sig='${header}'`).replace(/^secret=.*$/m, `secret='${secret}'`);
    const run = (b: string) => {
      writeFileSync(join(dir, 'body.json'), b);
      return spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    };
    expect(run(body)).toBe('signature ok');
    expect(run(tampered)).toBe('');
  });

  it.skipIf(!hasOpenssl)('shell: sending a signed test event with curl', async () => {
    const received: { signature: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        received.push({ signature: String(req.headers['lien-signature']), body: b });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/lien/events`;
      writeFileSync(join(dir, 'body.json'), body);
      const script = SIGNATURE_SAMPLES.send.replace(/^secret=.*$/m, `secret='${secret}'`).replace('https://erp.example/lien/events', url);
      // Not spawnSync: the receiver runs on this process's event loop.
      const run = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn('bash', ['-c', script], { cwd: dir });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
      expect(run.status, run.stderr).toBe(0);
      expect(received).toHaveLength(1);
      expect(received[0]!.body).toBe(body);
      expect(verifyWebhookSignature(secret, received[0]!.signature, received[0]!.body, Math.floor(Date.now() / 1000))).toMatchObject({ ok: true });
    } finally {
      server.close();
    }
  });
});
