/**
 * The Device Lock services' definitions, loaded at run time from the project's own .proto files
 * (proto/devicelockcontroller/, written from AOSP's sources) with @grpc/proto-loader: no code
 * generation step, and the same files the conformance test's client loads.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The proto directory, found from this file upwards (works from src/ and from a build). */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto', 'devicelockcontroller');
    if (existsSync(join(candidate, 'checkin_service.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/devicelockcontroller/checkin_service.proto not found above ' + fileURLToPath(import.meta.url));
}

/**
 * Enums as their names and 64-bit numbers as JS numbers; fields keep their proto names
 * (snake_case); unset optional fields are left out, so "absent" and "default" stay distinct.
 */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, enums: String, longs: Number, defaults: false, oneofs: true };

export interface DeviceLockServices {
  checkin: grpc.ServiceDefinition;
  finalize: grpc.ServiceDefinition;
  /** Client constructors, for tests and tools. */
  CheckinClient: grpc.ServiceClientConstructor;
  FinalizeClient: grpc.ServiceClientConstructor;
}

export function loadDeviceLockServices(): DeviceLockServices {
  const dir = protoDir();
  const def = protoLoader.loadSync([join(dir, 'checkin_service.proto'), join(dir, 'finalize_service.proto')], { ...LOADER_OPTIONS, includeDirs: [dir] });
  const pkg = (grpc.loadPackageDefinition(def) as unknown as { devicelockcontroller: Record<string, grpc.ServiceClientConstructor> }).devicelockcontroller;
  const CheckinClient = pkg.DeviceLockCheckinService!;
  const FinalizeClient = pkg.DeviceLockFinalizeService!;
  return { checkin: CheckinClient.service, finalize: FinalizeClient.service, CheckinClient, FinalizeClient };
}
