/** The reference device agent: the state machine, its ports and their ready-made adapters. */
export * from './ports.ts';
export { DeviceAgent, AGENT_VERSION, type DeviceAgentOptions, type SyncResult, type CodeResult, type PolicyOutcome } from './agent.ts';
export { provisionDevice, type Provisioning } from './provision.ts';
export { MemoryStore, MemoryScreen, MemoryNetwork, RecordingDialer, type DeviceApi, type NetworkCall } from './memory.ts';
export { FileStore } from './file-store.ts';
export { HttpNetwork, type HttpNetworkOptions } from './http-network.ts';
export { EMERGENCY_NUMBERS, isEmergencyNumber, amountText } from './enforcement.ts';
export { backoffSeconds } from './backoff.ts';
