/**
 * Simulated phones this process already plays, which the browser emulator takes over instead of
 * starting a second copy of the same phone. Two copies would each enroll with the same factory
 * secret, each revoking the other's credential, and the server would see one phone reporting
 * with a revoked key (issue #15: "bad_signature" events on the device page). Handing the running
 * phone over keeps one agent, one credential and one lock screen per device.
 */
import type { SimPhone } from './sim-phone.ts';

/** Gives up the phone of `serial` (it stops being driven by its holder), or null if it holds none. */
export type PhoneRelease = (serial: string) => SimPhone | null;

export class PhoneHandOff {
  private readonly holders = new Set<PhoneRelease>();

  /** A holder (the demo fleet) offers its phones; the returned function withdraws the offer. */
  offer(release: PhoneRelease): () => void {
    this.holders.add(release);
    return () => this.holders.delete(release);
  }

  /** The running phone of `serial`, now the caller's alone; null when nobody plays it. */
  take(serial: string): SimPhone | null {
    for (const release of this.holders) {
      const phone = release(serial);
      if (phone) return phone;
    }
    return null;
  }
}
