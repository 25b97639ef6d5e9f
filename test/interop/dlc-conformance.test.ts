/**
 * Conformance of the Android Device Lock backend (#13): a gRPC client built from the protobuf
 * definitions of AOSP's messages (proto/devicelockcontroller, loaded here on their own, not
 * through the server's code) talks to a real server over TLS, with the API key in the call
 * metadata as DeviceLockController's ApiKeyClientInterceptor sends it, and runs the
 * provisioning flow end to end.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testImei, TestPlatform, type TestDevice } from '../e2e/in-process.ts';
import { addUser, ConsoleClient } from '../console/helpers.ts';

const PROTO_DIR = join(import.meta.dirname, '../../proto/devicelockcontroller');
const DAY = 86_400_000;

type Msg = Record<string, any>;
type Client = grpc.Client & Record<string, (req: Msg, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Msg) => void) => void>;

function clients(address: string, rootCert: Buffer) {
  const def = protoLoader.loadSync([join(PROTO_DIR, 'checkin_service.proto'), join(PROTO_DIR, 'finalize_service.proto')], {
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: false,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const pkg = (grpc.loadPackageDefinition(def) as any).devicelockcontroller;
  const creds = grpc.credentials.createSsl(rootCert);
  return { checkin: new pkg.DeviceLockCheckinService(address, creds) as Client, finalize: new pkg.DeviceLockFinalizeService(address, creds) as Client };
}

describe('Android Device Lock backend, spoken to as DeviceLockController does', () => {
  const p = new TestPlatform('2026-01-01T06:00:00Z', { dlc: true });
  let c: ReturnType<typeof clients>;
  let key: { metadataName: string; value: string; id: string };

  const md = (k: { metadataName: string; value: string } | null = key) => {
    const m = new grpc.Metadata();
    if (k) m.add(k.metadataName, k.value);
    return m;
  };
  const call = (client: Client, rpc: string, req: Msg, k: { metadataName: string; value: string } | null = key) =>
    new Promise<Msg>((resolve, reject) => client[rpc]!(req, md(k), (e, r) => (e ? reject(e) : resolve(r))));
  const ids = (d: TestDevice) => [{ device_identifier: d.imei, device_identifier_type: 'DEVICE_IDENTIFIER_TYPE_IMEI' }];
  const checkinStatus = (d: TestDevice, mccmnc = '63902') =>
    call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: ids(d), carrier_mccmnc: mccmnc, device_manufacturer: 'Acme', device_model: 'A1', device_locale: 'sw-KE', apex_version: 341810000 });
  const report = (id: string, previous: string, success: boolean, reason = 'PROVISION_FAILURE_REASON_PLAY_INSTALLATION_FAILED') =>
    call(c.checkin, 'ReportDeviceProvisionState', {
      registered_device_identifier: id,
      previous_client_provision_state: `CLIENT_PROVISION_STATE_${previous}`,
      provision_success: success,
      ...(success ? {} : { client_provision_failure_reason: reason }),
    });

  beforeAll(async () => {
    await p.start();
    const created = await p.operator('POST', '/v1/operator/dlc-keys', { name: 'x-lien-dlc-key' });
    expect(created.status).toBe(201);
    key = created.body;
    const settings = await p.api('PUT', '/v1/settings', {
      androidDeviceLock: {
        kioskAppPackage: 'com.jamii.kiosk',
        kioskAppMainActivity: 'com.jamii.kiosk/.PayActivity',
        allowlistPackages: ['com.safaricom.mpesa'],
        termsUrl: 'https://jamii.example/terms',
        provisionType: 'DEFERRED',
        approvedCountries: ['639'],
      },
    });
    expect(settings.status).toBe(200);
    expect(settings.body.androidDeviceLock).toMatchObject({ daysUntilReset: 7, provisionType: 'DEFERRED' });
    const hook = await p.api('POST', '/v1/webhooks', { url: 'https://hooks.example/dlc', events: ['device.provision_state_changed', 'device.program_completed'] });
    expect(hook.status).toBe(201);
    c = clients(`localhost:${p.lien.dlc!.port}`, readFileSync(join(p.dataDirectory, 'dlc-tls/cert.pem')));
  }, 60_000);
  afterAll(async () => {
    c?.checkin.close();
    c?.finalize.close();
    await p.stop();
  });

  it('refuses a call without the key, with a wrong key, or with a revoked key: UNAUTHENTICATED', async () => {
    const [d] = await p.register(1);
    await expect(call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: ids(d!) }, null)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: ids(d!) }, { ...key, value: `${key.value}x` })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    await expect(call(c.finalize, 'ReportDeviceProgramComplete', { registered_device_identifier: 'dev_x' }, { metadataName: 'other-name', value: key.value })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    const spare = await p.operator('POST', '/v1/operator/dlc-keys', { name: 'x-spare-key' });
    expect((await call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: ids(d!) }, spare.body)).client_checkin_status).toBeDefined();
    expect((await p.operator('DELETE', `/v1/operator/dlc-keys/${spare.body.id}`)).status).toBe(200);
    await expect(call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: ids(d!) }, spare.body)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    // A check-in that names no phone at all is a bad request, not a stop.
    await expect(call(c.checkin, 'GetDeviceCheckinStatus', { client_device_identifiers: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('unknown → STOP_CHECKIN; retail → STOP_CHECKIN; unsold → RETRY_CHECKIN at a time; sold → READY_FOR_PROVISION with the lender’s configuration', async () => {
    const unknown = { imei: testImei(999_000 + Math.floor(Math.random() * 1e5)), serial: 'nope', secret: Buffer.alloc(32) };
    expect(await checkinStatus(unknown)).toEqual({ client_checkin_status: 'CLIENT_CHECKIN_STATUS_STOP_CHECKIN' });
    const [retail] = await p.register(1, 'retail');
    expect(await checkinStatus(retail!)).toMatchObject({ client_checkin_status: 'CLIENT_CHECKIN_STATUS_STOP_CHECKIN' });

    const [d] = await p.register(1);
    const now = p.clock.now().getTime();
    const retry = await checkinStatus(d!);
    expect(retry).toMatchObject({ client_checkin_status: 'CLIENT_CHECKIN_STATUS_RETRY_CHECKIN', next_steps: 'next_checkin_information' });
    expect(retry.next_checkin_information.next_checkin_timestamp).toEqual({ seconds: Math.floor((now + 15 * 60_000) / 1000), nanos: 0 });
    const deviceId = retry.registered_device_identifier;
    expect(deviceId).toMatch(/^dev_/);

    // The sale is recorded two days later; the next check-in provisions the phone.
    p.clock.advance(2 * DAY);
    await p.sell(d!);
    const ready = await checkinStatus(d!);
    expect(ready).toEqual({
      client_checkin_status: 'CLIENT_CHECKIN_STATUS_READY_FOR_PROVISION',
      registered_device_identifier: deviceId,
      next_steps: 'device_provisioning_information',
      device_provisioning_information: {
        configuration_information: {
          kiosk_app_provider_name: 'Jamii Finance',
          kiosk_app_package: 'com.jamii.kiosk',
          kiosk_app_main_activity: 'com.jamii.kiosk/.PayActivity',
          kiosk_app_allowlist_packages: ['com.safaricom.mpesa'],
          kiosk_app_enable_outgoing_calls: true,
          kiosk_app_enable_notifications: true,
          disallow_installing_from_unknown_sources: true,
          terms_and_conditions_url: 'https://jamii.example/terms',
          support_url: `${p.lien.services.publicUrl}/portal`,
        },
        enrollment_type: 'ENROLLMENT_TYPE_FINANCE',
        device_provision_type: 'DEVICE_PROVISION_TYPE_DEFERRED',
        force_provisioning: false,
        is_device_in_approved_country: true,
        allow_debugging: false,
      },
    });
    expect((await checkinStatus(d!, '310260')).device_provisioning_information.is_device_in_approved_country).toBe(false);
    expect(await call(c.checkin, 'IsDeviceInApprovedCountry', { registered_device_identifier: deviceId, carrier_mccmnc: '63903' })).toEqual({ is_device_in_approved_country: true });
    expect(await call(c.checkin, 'IsDeviceInApprovedCountry', { registered_device_identifier: deviceId, carrier_mccmnc: '310260' })).toEqual({ is_device_in_approved_country: false });
  });

  it('state reports up to SUCCESS, shown on the console device page and announced by webhook; a pause and an FCM token are recorded', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const deviceId = (await checkinStatus(d!)).registered_device_identifier;
    expect(deviceId).toBe(sale.deviceId);
    expect(await call(c.checkin, 'PauseDeviceProvisioning', { registered_device_identifier: deviceId, pause_device_provisioning_reason: 'PAUSE_DEVICE_PROVISIONING_REASON_USER_DEFERRED_DEVICE_PROVISIONING' })).toEqual({});
    expect(await call(c.checkin, 'UpdateFcmToken', { client_device_identifiers: ids(d!), fcm_registration_token: 'fcm-token-1' })).toEqual({ result: 'UPDATE_FCM_TOKEN_RESULT_SUCCESS' });
    expect(await call(c.checkin, 'UpdateFcmToken', { client_device_identifiers: [{ device_identifier: testImei(123), device_identifier_type: 'DEVICE_IDENTIFIER_TYPE_IMEI' }], fcm_registration_token: 't' })).toEqual({
      result: 'UPDATE_FCM_TOKEN_RESULT_FAILURE',
    });
    expect(await report(deviceId, 'UNSPECIFIED', true)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_SUCCESS' });

    const row = await p.lien.services.db.selectFrom('dlc_devices').selectAll().where('device_id', '=', deviceId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ provision_state: 'SUCCESS', pauses: 1, fcm_token: 'fcm-token-1', device_model: 'A1', carrier_mccmnc: '63902' });
    const hooks = await p.lien.services.db.selectFrom('webhook_deliveries').select(['event_type', 'payload']).where('event_type', '=', 'device.provision_state_changed').execute();
    expect(hooks.map((h) => (typeof h.payload === 'string' ? JSON.parse(h.payload) : h.payload).data)).toContainEqual(expect.objectContaining({ deviceId, state: 'SUCCESS', previousState: 'UNSPECIFIED' }));

    const page = await consolePage(`/console/devices/${deviceId}`);
    expect(page).toContain('data-testid="provision-state"');
    expect(page).toMatch(/SUCCESS — provisioned/);
    expect(page).toMatch(/Paused by the borrower/);
  });

  it('a failure path escalates over the lender’s days to FACTORY_RESET, with the days left on the way', async () => {
    const [d] = await p.register(1);
    await p.sell(d!);
    const id = (await checkinStatus(d!)).registered_device_identifier;
    expect(await report(id, 'UNSPECIFIED', false)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_RETRY', days_left_until_reset: 7 });
    expect(await report(id, 'RETRY', false)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_DISMISSIBLE_UI', days_left_until_reset: 7 });
    p.clock.advance(4 * DAY);
    expect(await report(id, 'DISMISSIBLE_UI', false)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_DISMISSIBLE_UI', days_left_until_reset: 3 });
    p.clock.advance(2 * DAY);
    expect(await report(id, 'DISMISSIBLE_UI', false)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_PERSISTENT_UI', days_left_until_reset: 1 });
    p.clock.advance(DAY);
    expect(await report(id, 'PERSISTENT_UI', false, 'PROVISION_FAILURE_REASON_DEADLINE_PASSED')).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_FACTORY_RESET', days_left_until_reset: 0 });
    const row = await p.lien.services.db.selectFrom('dlc_devices').selectAll().where('device_id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ provision_state: 'FACTORY_RESET', failure_reason: 'DEADLINE_PASSED', failures: 5, days_left_until_reset: 0 });
    expect(await consolePage(`/console/devices/${id}`)).toMatch(/FACTORY_RESET — failed; the phone was told to factory reset/);
    // A phone that then provisions after its reset ends it.
    expect(await report(id, 'FACTORY_RESET', true)).toEqual({ next_client_provision_state: 'CLIENT_PROVISION_STATE_SUCCESS' });
    await expect(report('dev_nobody', 'UNSPECIFIED', true)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('program complete is refused before payoff and accepted, audited and announced after it; a paid-off phone is told to stop', async () => {
    const [d] = await p.register(1);
    const sale = await p.sell(d!);
    const id = (await checkinStatus(d!)).registered_device_identifier;
    await expect(call(c.finalize, 'ReportDeviceProgramComplete', { registered_device_identifier: id })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    const paid = await p.api('POST', '/v1/payments', { contractId: sale.contractId, externalRef: `PAYOFF-${id}`, channel: 'mpesa', amount: 30_000_00, currency: 'KES' });
    expect(paid.status).toBe(201);
    expect(await call(c.finalize, 'ReportDeviceProgramComplete', { registered_device_identifier: id })).toEqual({});
    const audit = await p.lien.services.db.selectFrom('audit_log').select('action').where('subject_id', '=', id).where('action', 'like', 'device.program_complete%').orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['device.program_complete_refused', 'device.program_completed']);
    const hooks = await p.lien.services.db.selectFrom('webhook_deliveries').select('payload').where('event_type', '=', 'device.program_completed').execute();
    expect(hooks.map((h) => (typeof h.payload === 'string' ? JSON.parse(h.payload) : h.payload).data.deviceId)).toContain(id);
    expect(await consolePage(`/console/devices/${id}`)).toContain('data-testid="program-complete"');
    // After a factory reset the module checks in again: nothing is left to enforce.
    expect((await checkinStatus(d!)).client_checkin_status).toBe('CLIENT_CHECKIN_STATUS_STOP_CHECKIN');
  });

  let viewer = false;
  /** A page as a lender's viewer sees it (signed in afresh: the test clock outruns sessions). */
  async function consolePage(path: string): Promise<string> {
    if (!viewer) await addUser(p, p.lenderId, 'viewer', 'dlc-viewer@jamii.example');
    viewer = true;
    const browser = new ConsoleClient(p.url);
    await browser.signIn('dlc-viewer@jamii.example');
    const r = await browser.get(path);
    expect(r.status).toBe(200);
    return r.body;
  }
});
