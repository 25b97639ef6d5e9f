import { expect } from 'vitest';
import { newId } from '../../src/store/ids.ts';
import { TestPlatform } from '../e2e/in-process.ts';

export interface Tenant {
  id: string;
  key: string;
  contractId: string;
  deviceId: string;
  imei: string;
  paymentId: string;
  claimId: string;
  disputeId: string;
  webhookId: string;
  deliveryId: string;
  apiKeyId: string;
}

/**
 * Two lenders on one server, each with a sold phone, a payment, an open claim, a dispute, a
 * webhook with a logged delivery and a spare API key: the ids every endpoint can be aimed at.
 */
export class World {
  readonly p = new TestPlatform('2026-01-01T06:00:00Z');
  a!: Tenant;
  b!: Tenant;

  async start(): Promise<this> {
    await this.p.start();
    const other = await this.p.operator('POST', '/v1/operator/lenders', {
      name: 'Other Credit',
      supportPhone: '+254700000999',
      howToPay: 'Cash at the shop',
      currency: 'KES',
      timeZone: 'Africa/Nairobi',
      profile: 'retail-short-cycle',
    });
    expect(other.status).toBe(201);
    this.a = await this.tenant(this.p.lenderId, this.p.lenderKey, 'A');
    this.b = await this.tenant(other.body.id, other.body.apiKey, 'B');
    return this;
  }

  stop() {
    return this.p.stop();
  }

  api(t: Tenant, method: string, path: string, body?: unknown) {
    return this.p.api(method, path, body, t.key);
  }

  private async tenant(id: string, key: string, tag: string): Promise<Tenant> {
    const p = this.p;
    const [d] = await p.register(1);
    const call = (method: string, path: string, body?: unknown) => p.api(method, path, body, key);
    const hook = await call('POST', '/v1/webhooks', { url: `https://hooks.example/${tag}`, events: ['payment.posted'] });
    expect(hook.status).toBe(201);
    const sale = await call('POST', '/v1/sales', {
      imei: d!.imei,
      borrowerRef: `borrower-${tag}`,
      borrowerPhone: '+254711000222',
      schedule: { principal: 30_000_00, annualRatePct: 0, termCount: 3, frequency: 'monthly', method: 'flat', firstDueDate: '2026-01-15' },
      consent: { at: p.clock.now().toISOString(), channel: 'in_store_signature', termsVersion: 'v1' },
    });
    expect(sale.status).toBe(201);
    const { contractId, deviceId } = sale.body;
    const pay = await call('POST', '/v1/payments', { contractId, externalRef: `R-${tag}-1`, channel: 'mpesa', amount: 500, currency: 'KES' });
    expect(pay.status).toBe(201);
    const claimId = newId('clm');
    await p.lien.services.db
      .insertInto('claims')
      .values({ id: claimId, contract_id: contractId, device_id: deviceId, lender_id: id, transaction_ref: `CLAIM-${tag}`, amount: 100, currency: 'KES', paid_on: '2026-01-01', channel: 'mpesa', created_at: p.clock.now() })
      .execute();
    const dispute = await call('POST', `/v1/contracts/${contractId}/disputes`, { reason: 'borrower disputes a fee' });
    expect(dispute.status).toBe(201);
    const deliveries = await call('GET', '/v1/webhooks/deliveries');
    expect(deliveries.status).toBe(200);
    const spare = await call('POST', '/v1/api-keys', { name: `spare ${tag}`, scopes: ['read'] });
    expect(spare.status).toBe(201);
    return {
      id,
      key,
      contractId,
      deviceId,
      imei: d!.imei,
      paymentId: pay.body.paymentId,
      claimId,
      disputeId: dispute.body.disputeId,
      webhookId: hook.body.id,
      deliveryId: deliveries.body.items[0].id,
      apiKeyId: spare.body.id,
    };
  }
}
