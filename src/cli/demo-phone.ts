import { deriveDeviceKeys, enrollProof, signRequest, type CheckinResponse, type DeviceEvent, type EnrollResponse } from '../protocol/index.ts';

/**
 * A bare-protocol phone for seeding demo data: enrolls and reports events with chosen
 * timestamps (a notice displayed days ago), which a real agent would only do by waiting.
 */
export class DemoPhone {
  private deviceId: string | null = null;
  private credential: Buffer | null = null;
  private counter = 0;

  constructor(
    private readonly base: string,
    private readonly d: { imei: string; serial: string; secret: Buffer },
  ) {}

  async enroll(): Promise<EnrollResponse> {
    const { nonce } = (await (await fetch(`${this.base}/v1/device/nonce`)).json()) as { nonce: string };
    const keys = deriveDeviceKeys(this.d.secret);
    const r = await fetch(`${this.base}/v1/device/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imeis: [this.d.imei], serial: this.d.serial, nonce, proof: enrollProof(keys.authKey, nonce, this.d.imei, this.d.serial), agentVersion: 'demo' }),
    });
    const body = (await r.json()) as EnrollResponse;
    if (body.status === 'enrolled') {
      this.deviceId = body.deviceId;
      this.credential = Buffer.from(body.credential, 'base64url');
    }
    return body;
  }

  async checkin(events: DeviceEvent[], serverNow: Date): Promise<CheckinResponse> {
    if (!this.deviceId || !this.credential) throw new Error('enroll first');
    const body = JSON.stringify({ agentVersion: 'demo', policyVersion: 0, tokenCounter: 0, events });
    const headers = signRequest({ deviceId: this.deviceId, authKey: this.credential, method: 'POST', path: '/v1/device/checkin', body, timestamp: serverNow.getTime(), counter: ++this.counter });
    const r = await fetch(`${this.base}/v1/device/checkin`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    if (!r.ok) throw new Error(`check-in refused: ${await r.text()}`);
    return (await r.json()) as CheckinResponse;
  }
}
