import type { CheckinResponse, EnrollRequest, EnrollResponse, NonceResponse } from '../../protocol/index.ts';
import { OfflineError, type CloseStream, type Network, type Reply, type RequestHeaders } from '../ports.ts';

/**
 * Any Network with an airplane-mode switch: while offline every request throws OfflineError,
 * as an adapter does without signal, and open nudge streams are closed from the far side.
 */
export class SwitchableNetwork implements Network {
  private isOnline = true;
  private readonly streams = new Set<{ close: CloseStream; onClose: (() => void) | undefined }>();

  constructor(private readonly inner: Network) {}

  get online(): boolean {
    return this.isOnline;
  }

  setOnline(online: boolean): void {
    this.isOnline = online;
    if (online) return;
    for (const s of [...this.streams]) {
      this.streams.delete(s);
      s.close();
      s.onClose?.();
    }
  }

  /** Nudge streams open through this network right now. */
  get openStreams(): number {
    return this.streams.size;
  }

  async nonce(): Promise<Reply<NonceResponse>> {
    this.check();
    return this.inner.nonce();
  }

  async enroll(req: EnrollRequest): Promise<Reply<EnrollResponse>> {
    this.check();
    return this.inner.enroll(req);
  }

  async checkin(deviceId: string, headers: RequestHeaders, body: string): Promise<Reply<CheckinResponse>> {
    this.check();
    return this.inner.checkin(deviceId, headers, body);
  }

  async connectStream(deviceId: string, headers: RequestHeaders, onSync: () => void, onClose?: () => void): Promise<CloseStream> {
    this.check();
    const entry = { close: (() => undefined) as CloseStream, onClose };
    const close = await this.inner.connectStream(deviceId, headers, onSync, () => {
      if (this.streams.delete(entry)) onClose?.();
    });
    entry.close = close;
    if (!this.isOnline) {
      // Went offline while the stream was opening.
      close();
      throw new OfflineError();
    }
    this.streams.add(entry);
    return () => {
      this.streams.delete(entry);
      close();
    };
  }

  private check(): void {
    if (!this.isOnline) throw new OfflineError('the phone is offline (simulated)');
  }
}
