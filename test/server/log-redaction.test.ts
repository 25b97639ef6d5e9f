import { sql } from 'kysely';
import type { DestinationStream } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleAdapter } from '../../src/jobs/notifications.ts';
import { deriveDeviceKeys } from '../../src/protocol/index.ts';
import { loggableError, maskLongNumbers } from '../../src/store/loggable.ts';
import { encodeToken } from '../../src/tokens/index.ts';
import { TestPlatform } from '../e2e/in-process.ts';

class Capture implements DestinationStream {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  get records(): Record<string, any>[] {
    return this.lines.map((l) => JSON.parse(l));
  }
}

/**
 * Issue 12, L2: a rolled-back code issuance logged its OpenPAYGO token, and error logs carried
 * password hashes and phone numbers, because a failed statement's error carries its values
 * (PGlite: the parameters; PostgreSQL: DETAIL). Here every write is refused by a trigger that
 * quotes the whole row back in DETAIL, the way a constraint violation does, and the captured
 * log is searched for what the rows held.
 */
describe('the log keeps secrets out (issue 12, L2)', () => {
  const capture = new Capture();
  const p = new TestPlatform('2026-01-01T06:00:00Z', { logTo: capture });

  beforeAll(async () => {
    await p.start();
    const db = p.lien.services.db;
    await sql`CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused by a test trigger' USING DETAIL = row_to_json(NEW)::text; END $$`.execute(db);
  });
  afterAll(() => p.stop());

  const refuse = (table: string) => sql`CREATE TRIGGER ${sql.id(`refuse_${table}`)} BEFORE INSERT ON ${sql.table(table)} FOR EACH ROW EXECUTE FUNCTION refuse_row()`.execute(p.lien.services.db);

  it('logs failed statements with what failed and the request, without their values: no tokens, hashes, passwords, phone numbers or API keys', async () => {
    const [d] = await p.register(1);
    const { deviceId } = await p.sell(d!);

    // A code issuance rolled back after its token was computed (the token the phone would accept).
    await refuse('tokens_issued');
    const { token_counter } = await p.lien.services.db.selectFrom('devices').select('token_counter').where('id', '=', deviceId).executeTakeFirstOrThrow();
    const keys = deriveDeviceKeys(d!.secret);
    const { token } = encodeToken({ key: keys.tokenKey, startingCode: keys.startingCode, count: token_counter, type: 'ADD_TIME', value: 7 });
    const code = await p.api('POST', `/v1/devices/${deviceId}/codes`, { type: 'ADD_TIME', days: 7, reason: 'reason-marker-7f3a: customer paid at the shop' });
    expect(code.status).toBe(500);

    // A console user refused: the password's scrypt hash is in the row.
    await refuse('users');
    const password = 'correct horse battery staple 42';
    const user = await p.api('POST', '/v1/users', { email: 'clerk@jamii.example', name: 'Clerk', password, role: 'support' });
    expect(user.status).toBe(500);

    // A sale refused: the borrower's phone number is in the row.
    await refuse('contracts');
    const [other] = await p.register(1);
    const phone = '+254799123456';
    const sale = await p.api('POST', '/v1/sales', {
      imei: other!.imei,
      borrowerRef: 'borrower-ref-marker-91c2',
      borrowerPhone: phone,
      schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' },
      consent: { at: p.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    });
    expect(sale.status).toBe(500);

    const text = capture.lines.join('');
    const errors = capture.records.filter((r) => r.msg === 'unhandled error');
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      // What failed and where is kept: the request, the lender, the database's code, the statement without values.
      expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(e.lenderId).toBe(p.lenderId);
      expect(e.err).toMatchObject({ code: 'P0001', message: 'refused by a test trigger' });
      // PGlite's errors name the statement (placeholders, no values); pg's do not.
      if (p.lien.services.database.kind === 'pglite') expect(e.err.query).toMatch(/^insert into "(tokens_issued|users|contracts)"/);
      expect(e.err).not.toHaveProperty('params');
      expect(e.err).not.toHaveProperty('detail');
    }
    expect(text).not.toContain(token);
    expect(text).not.toContain('reason-marker-7f3a');
    expect(text).not.toContain(password);
    expect(text).not.toMatch(/scrypt\$/);
    expect(text).not.toContain('254799123456');
    expect(text).not.toContain('borrower-ref-marker-91c2');
    expect(text).not.toContain(p.lenderKey);
    expect(text).not.toContain(p.operatorKey);
  });

  it('masks phone numbers in logged SMS and error messages, keeping dates readable', async () => {
    const lines: string[] = [];
    await new ConsoleAdapter({ log: (l) => lines.push(l) }).send({ id: 'ntf_1', to: '+254 711 000 222', text: 'Your phone is unlocked.' });
    expect(lines).toEqual(['[sms ntf_1] to +•••••••••222: Your phone is unlocked.']);
    expect(maskLongNumbers('call 0711000222 before 2026-01-15 or +1-415-555-0134')).toBe('call •••••••222 before 2026-01-15 or +••••••••134');
    const e = Object.assign(new Error('duplicate key for +254711000222'), { params: ['secret'], detail: 'Key (phone)=(+254711000222)', code: '23505', constraint: 'x_phone' });
    expect(loggableError(e)).toMatchObject({ type: 'Error', message: 'duplicate key for +•••••••••222', code: '23505', constraint: 'x_phone' });
    expect(JSON.stringify(loggableError(e))).not.toMatch(/secret|254711000222/);
  });
});
