/**
 * The device list as CSV, streamed: the rows are read page by page (see allDevices) and written
 * as they come, so an export of the whole book holds one page in memory. Cells are neutralised
 * against formula injection (OWASP "CSV injection"): a spreadsheet would run a cell that starts
 * with = + - @ tab or carriage return, and a borrower reference or a serial is outside input.
 */
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Kysely } from 'kysely';
import { formatAmount } from '../../domain/money.ts';
import { reasonLabel, stageLabel } from '../../i18n/labels.ts';
import type { DB } from '../../store/schema.ts';
import { actorNames } from './actors.ts';
import { allDevices, type DeviceListQuery, type DeviceListRow } from './device-list.ts';

const FORMULA_START = /^[=+\-@\t\r]/;

/** A cell a spreadsheet shows as text: a leading quote stops it being read as a formula. */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

const COLUMNS: [header: string, cell: (r: DeviceListRow, names: Map<string, string>) => string][] = [
  ['Serial', (r) => r.serial],
  ['IMEI', (r) => r.imei1],
  ['IMEI 2', (r) => r.imei2 ?? ''],
  ['Model', (r) => r.model],
  ['Stage', (r) => (r.stage ? stageLabel(r.stage) : stageLabel('none'))],
  ['Why', (r) => (r.stageReason ? reasonLabel(r.stageReason) : '')],
  ['Lock held', (r) => (r.heldReason ? reasonLabel(r.heldReason) : '')],
  ['Days past due', (r) => String(r.dpd)],
  ['Overdue', (r) => (r.currency ? formatAmount(r.amountOverdue, r.currency, 'none') : '')],
  ['Outstanding', (r) => (r.currency ? formatAmount(r.outstanding, r.currency, 'none') : '')],
  ['Currency', (r) => r.currency ?? ''],
  ['Borrower reference', (r) => r.borrowerRef ?? ''],
  ['Borrower phone', (r) => r.borrowerPhone ?? ''],
  ['Lock reference', (r) => r.lockReference ?? ''],
  ['Contract', (r) => r.contractId ?? ''],
  ['Sold by', (r, names) => (r.soldBy ? (names.get(r.soldBy) ?? r.soldBy) : '')],
  ['Last check-in (UTC)', (r) => r.lastSeenAt?.toISOString() ?? ''],
  ['Device id', (r) => r.deviceId],
];

async function* lines(db: Kysely<DB>, lenderId: string, now: Date, query: DeviceListQuery): AsyncGenerator<string[]> {
  yield COLUMNS.map(([h]) => h);
  for await (const page of allDevices(db, lenderId, now, query)) {
    const names = await actorNames(db, lenderId, page.flatMap((r) => (r.soldBy ? [r.soldBy] : [])));
    for (const r of page) yield COLUMNS.map(([, cell]) => neutraliseCell(cell(r, names)));
  }
}

/** The filtered list as a CSV byte stream (UTF-8 with a BOM, so spreadsheets read accents right). */
export function deviceCsv(db: Kysely<DB>, lenderId: string, now: Date, query: DeviceListQuery): Readable {
  return Readable.from(lines(db, lenderId, now, { ...query, cursor: undefined })).pipe(stringify({ bom: true, quoted_match: /[",\n\r]/ }));
}
