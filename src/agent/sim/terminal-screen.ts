/**
 * The lock screen drawn as text for `lien device`: a box with the mode on its top edge, the same
 * sentences as the browser emulator (screen-model.ts), and a status line for the simulator
 * itself (network, nudge stream, the phone's clock, what the last command did).
 */
import { lineText, type ScreenLine, type ScreenModel } from './screen-model.ts';

export interface TerminalStatus {
  online: boolean;
  streamOpen: boolean;
  /** The phone's own clock. */
  now: Date;
  deviceId: string | null;
  outcome: { ok: boolean; text: string } | null;
}

const INNER = 52;

export function renderTerminalScreen(model: ScreenModel, status: TerminalStatus, width = INNER): string {
  const out: string[] = [];
  const label = `[ ${model.modeLabel} ]`;
  out.push(`╭─${label}${'─'.repeat(Math.max(0, width - label.length - 1))}╮`);
  const row = (text: string) => {
    for (const piece of wrap(text, width - 2)) out.push(`│ ${piece}${' '.repeat(Math.max(0, width - 2 - piece.length))} │`);
  };
  const blank = () => row('');
  const lines = (ls: ScreenLine[]) => ls.forEach((l) => row(lineText(l)));

  if (model.title) {
    row(model.title.toUpperCase());
    blank();
  }
  lines(model.lines);
  if (model.lines.length && model.fields.length) blank();
  for (const f of model.fields) row(`${f.label}: ${f.value}`);
  if (model.emergency) {
    blank();
    row(`☎ ${lineText(model.emergency)}`);
  }
  if (model.notes.length) {
    blank();
    lines(model.notes);
  }
  if (model.codeEntry) {
    blank();
    row(model.codeEntry.enabled ? `${model.codeEntry.label}: code <digits>` : `${model.codeEntry.label}: (wait)`);
  }
  if (!model.title && !model.lines.length && !model.fields.length && !model.codeEntry) row(model.mode === 'dormant' ? '(not financed: the agent sleeps)' : '');
  out.push(`╰${'─'.repeat(width)}╯`);
  out.push(
    `  network ${status.online ? 'online' : 'OFFLINE'} · stream ${status.streamOpen ? 'open' : 'closed'} · phone clock ${status.now.toISOString().replace(/\.\d{3}Z$/, 'Z')}` +
      (status.deviceId ? ` · ${status.deviceId}` : ''),
  );
  if (status.outcome) out.push(`  ${status.outcome.ok ? '›' : '!'} ${status.outcome.text}`);
  return out.join('\n');
}

/**
 * Word wrap by characters at ordinary spaces only: Intl puts no-break spaces inside amounts
 * ("Ksh 10,000.00"), which must stay on one line. A word longer than the line is cut.
 */
export function wrap(text: string, width: number): string[] {
  if (text === '') return [''];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/[ \t\r\n]+/)) {
    let w = word;
    while (w.length > width) {
      if (line) {
        out.push(line);
        line = '';
      }
      out.push(w.slice(0, width));
      w = w.slice(width);
    }
    if (!line) line = w;
    else if (line.length + 1 + w.length <= width) line += ` ${w}`;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line) out.push(line);
  return out;
}
