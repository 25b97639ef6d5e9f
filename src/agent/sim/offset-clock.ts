import type { Clock } from '../../domain/clock.ts';
import { LienError } from '../../domain/errors.ts';

/**
 * A simulated phone's own clock: another clock (the system clock) plus an offset the user moves
 * with `clock +3d` or sets with `clock 2026-02-01T00:00:00Z`. Time keeps running between moves,
 * as it does on a phone whose owner changed the date.
 */
export class OffsetClock implements Clock {
  private offsetMs = 0;

  constructor(private readonly base: Clock) {}

  now(): Date {
    return new Date(this.base.now().getTime() + this.offsetMs);
  }

  set(at: Date | string | number): void {
    const ms = new Date(at).getTime();
    if (!Number.isFinite(ms)) throw new LienError('invalid_input', `"${String(at)}" is not a date and time`);
    this.offsetMs = ms - this.base.now().getTime();
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** What a `clock` argument asks for: a move (`+3d`, `-5h`, `+90m`, `+30s`) or an instant. */
export type ClockChange = { kind: 'advance'; ms: number } | { kind: 'set'; at: Date };

export function parseClockChange(arg: string): ClockChange {
  const text = arg.trim();
  const move = /^([+-])(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (move) {
    const ms = Number(move[2]) * UNIT_MS[move[3]!]!;
    return { kind: 'advance', ms: move[1] === '-' ? -ms : ms };
  }
  // Only full ISO instants: "2026-02-01" alone would silently mean midnight UTC.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const at = new Date(text);
    if (Number.isFinite(at.getTime())) return { kind: 'set', at };
  }
  throw new LienError('invalid_input', `"${arg}" is not a clock change: use +3d, +5h, -30m, +45s or an instant such as 2026-02-01T00:00:00Z`);
}

export function applyClockChange(clock: OffsetClock, change: ClockChange): void {
  if (change.kind === 'advance') clock.advance(change.ms);
  else clock.set(change.at);
}
