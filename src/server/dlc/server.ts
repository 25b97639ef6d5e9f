/**
 * The provisioning backend AOSP's DeviceLockController calls (docs/android.md): the services
 * `devicelockcontroller.DeviceLockCheckinService` and `devicelockcontroller.DeviceLockFinalizeService`
 * over gRPC with TLS on their own port (LIEN_DLC_PORT). Each call is authenticated by an API key
 * in its metadata (`lien dlc-key create`), its message checked and bounded, and handed to one
 * use case of services/android-device-lock.ts; this file only translates.
 *
 * Library: @grpc/grpc-js with @grpc/proto-loader — the gRPC project's own pure-JS server, speaking
 * exactly the gRPC-over-HTTP/2 the module's OkHttp client speaks, with TLS and metadata built in,
 * loading the .proto files at run time (no code generation), on every Node line from 12 up.
 */
import * as grpc from '@grpc/grpc-js';
import { PROVISION_FAILURE_REASONS, PROVISION_STATES, type ProvisionFailureReason, type ProvisionState } from '../../domain/android-device-lock.ts';
import { isLienError } from '../../domain/errors.ts';
import type { Services } from '../../services/context.ts';
import {
  authenticateDlcCall,
  deviceLockApprovedCountry,
  deviceLockCheckin,
  deviceLockPause,
  deviceLockProgramComplete,
  deviceLockReportState,
  deviceLockUpdateFcmToken,
  type CheckinAnswer,
  type DeviceIdentifier,
  type IdentifierType,
} from '../../services/android-device-lock.ts';
import { loadDeviceLockServices } from './proto.ts';
import type { DlcTls } from './tls.ts';
import { httpStatus } from '../errors.ts';

/** Far above any real message (the largest is a check-in with a few identifiers). */
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_IDENTIFIERS = 8;

class BadRequest extends Error {}

type Msg = Record<string, unknown>;

function text(m: Msg, field: string, max: number, required = false): string | null {
  const v = m[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw new BadRequest(`${field} is required`);
    return null;
  }
  if (typeof v !== 'string' || v.length > max || /[\u0000-\u001f\u007f]/.test(v)) throw new BadRequest(`${field} must be text of at most ${max} printable characters`);
  return v;
}

function identifiers(m: Msg, field: string): DeviceIdentifier[] {
  const list = m[field];
  if (!Array.isArray(list) || list.length === 0) throw new BadRequest(`${field} must name the phone (set device_id_type_bitmap in the overlay)`);
  if (list.length > MAX_IDENTIFIERS) throw new BadRequest(`${field} has more than ${MAX_IDENTIFIERS} entries`);
  return list.map((i: Msg, n) => ({
    type: String(i.device_identifier_type ?? 'DEVICE_IDENTIFIER_TYPE_UNSPECIFIED').replace('DEVICE_IDENTIFIER_TYPE_', '') as IdentifierType,
    value: text(i, 'device_identifier', 64, true) ?? `${n}`,
  }));
}

function enumValue<T extends string>(m: Msg, field: string, prefix: string, allowed: readonly T[]): T {
  const raw = String(m[field] ?? `${prefix}UNSPECIFIED`).replace(prefix, '');
  if (!(allowed as readonly string[]).includes(raw)) throw new BadRequest(`${field} is not a known value`);
  return raw as T;
}

function timestamp(d: Date) {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function checkinResponse(a: CheckinAnswer): Msg {
  const base: Msg = { client_checkin_status: `CLIENT_CHECKIN_STATUS_${a.status}`, ...(a.deviceId ? { registered_device_identifier: a.deviceId } : {}) };
  if (a.status === 'RETRY_CHECKIN') return { ...base, next_checkin_information: { next_checkin_timestamp: timestamp(a.nextCheckinAt) } };
  if (a.status !== 'READY_FOR_PROVISION') return base;
  const c = a.provisioning.configuration;
  return {
    ...base,
    device_provisioning_information: {
      configuration_information: {
        kiosk_app_provider_name: c.providerName,
        kiosk_app_package: c.kioskAppPackage,
        kiosk_app_main_activity: c.kioskAppMainActivity,
        kiosk_app_allowlist_packages: c.allowlistPackages,
        kiosk_app_enable_outgoing_calls: c.enableOutgoingCalls,
        kiosk_app_enable_notifications: c.enableNotifications,
        disallow_installing_from_unknown_sources: c.disallowInstallingFromUnknownSources,
        terms_and_conditions_url: c.termsUrl,
        support_url: c.supportUrl,
      },
      enrollment_type: 'ENROLLMENT_TYPE_FINANCE',
      device_provision_type: `DEVICE_PROVISION_TYPE_${a.provisioning.provisionType}`,
      force_provisioning: false,
      is_device_in_approved_country: a.provisioning.inApprovedCountry,
      allow_debugging: false,
    },
  };
}

export interface DlcServerOptions {
  services: Services;
  tls: DlcTls;
  host: string;
  port: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface DlcServer {
  port: number;
  close(): Promise<void>;
}

export async function startDlcServer(o: DlcServerOptions): Promise<DlcServer> {
  const s = o.services;
  const defs = loadDeviceLockServices();

  /** Wraps a use case: API key first, then the message, then the call; errors become statuses. */
  function unary(name: string, work: (req: Msg) => Promise<Msg>): grpc.handleUnaryCall<Msg, Msg> {
    return (call, callback) => {
      void (async () => {
        const first = (key: string) => {
          const v = call.metadata.get(key)[0];
          return typeof v === 'string' ? v : undefined;
        };
        if (!(await authenticateDlcCall(s, first))) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing or unknown API key (see `lien dlc-key create`)' });
          return;
        }
        callback(null, await work(call.request ?? {}));
      })().catch((e: unknown) => {
        if (e instanceof BadRequest) callback({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
        else if (isLienError(e) && e.code === 'not_found') callback({ code: grpc.status.NOT_FOUND, details: e.message });
        else if (isLienError(e) && e.code === 'conflict') callback({ code: grpc.status.FAILED_PRECONDITION, details: e.message });
        else if (isLienError(e) && httpStatus(e) < 500) callback({ code: grpc.status.INVALID_ARGUMENT, details: e.message });
        else {
          o.log.error({ err: e, rpc: name }, 'Android Device Lock call failed');
          // UNAVAILABLE is retried by the module with backoff (GrpcResponse.hasRecoverableError).
          callback({ code: grpc.status.UNAVAILABLE, details: 'temporarily unavailable; retry later' });
        }
      });
    };
  }

  const registered = (m: Msg) => text(m, 'registered_device_identifier', 80, true)!;

  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  server.addService(defs.checkin, {
    GetDeviceCheckinStatus: unary('GetDeviceCheckinStatus', async (m) => {
      const apex = m.apex_version;
      const answer = await deviceLockCheckin(s, {
        identifiers: identifiers(m, 'client_device_identifiers'),
        carrierMccMnc: text(m, 'carrier_mccmnc', 6),
        fcmToken: text(m, 'fcm_registration_token', 4096),
        manufacturer: text(m, 'device_manufacturer', 100),
        model: text(m, 'device_model', 100),
        locale: text(m, 'device_locale', 35),
        apexVersion: typeof apex === 'number' && Number.isSafeInteger(apex) ? apex : null,
      });
      return checkinResponse(answer);
    }),
    IsDeviceInApprovedCountry: unary('IsDeviceInApprovedCountry', async (m) => ({
      is_device_in_approved_country: await deviceLockApprovedCountry(s, registered(m), text(m, 'carrier_mccmnc', 6)),
    })),
    PauseDeviceProvisioning: unary('PauseDeviceProvisioning', async (m) => {
      const reason = enumValue(m, 'pause_device_provisioning_reason', 'PAUSE_DEVICE_PROVISIONING_REASON_', ['UNSPECIFIED', 'USER_DEFERRED_DEVICE_PROVISIONING'] as const);
      await deviceLockPause(s, registered(m), reason);
      return {};
    }),
    ReportDeviceProvisionState: unary('ReportDeviceProvisionState', async (m) => {
      const previous = enumValue<ProvisionState>(m, 'previous_client_provision_state', 'CLIENT_PROVISION_STATE_', PROVISION_STATES);
      const failureReason = enumValue<ProvisionFailureReason>(m, 'client_provision_failure_reason', 'PROVISION_FAILURE_REASON_', PROVISION_FAILURE_REASONS);
      const r = await deviceLockReportState(s, registered(m), { previous, success: m.provision_success === true, failureReason });
      return { next_client_provision_state: `CLIENT_PROVISION_STATE_${r.next}`, ...(r.daysLeftUntilReset !== null ? { days_left_until_reset: r.daysLeftUntilReset } : {}) };
    }),
    UpdateFcmToken: unary('UpdateFcmToken', async (m) => {
      const ok = await deviceLockUpdateFcmToken(s, identifiers(m, 'client_device_identifiers'), text(m, 'fcm_registration_token', 4096, true)!);
      return { result: ok ? 'UPDATE_FCM_TOKEN_RESULT_SUCCESS' : 'UPDATE_FCM_TOKEN_RESULT_FAILURE' };
    }),
  });
  server.addService(defs.finalize, {
    ReportDeviceProgramComplete: unary('ReportDeviceProgramComplete', async (m) => {
      await deviceLockProgramComplete(s, registered(m));
      return {};
    }),
  });

  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: o.tls.cert, private_key: o.tls.key }], false);
  const port = await new Promise<number>((resolve, reject) => {
    const address = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
    server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Calls in flight get a moment to finish; then the rest are cut off.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
