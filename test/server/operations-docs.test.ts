import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../e2e/in-process.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

/** Metric names an expression uses (histogram series named by their family). */
function namesIn(text: string, families: Map<string, string>): string[] {
  const out = new Set<string>();
  for (const [name] of text.matchAll(/\b(?:lien|process|nodejs)_[a-z0-9_]+\b/g)) {
    const base = name.replace(/_(bucket|count|sum)$/, '');
    out.add(families.get(base) === 'histogram' ? base : name);
  }
  return [...out];
}

/** docs/operations.md, the alert rules and the Grafana dashboard against what /metrics really serves. */
describe('operations docs match the metrics', () => {
  const p = new TestPlatform();
  const families = new Map<string, string>();

  beforeAll(async () => {
    await p.start();
    const text = await (await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${p.operatorKey}` } })).text();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(name!, type!);
  });
  afterAll(() => p.stop());

  it('every series the dashboard and the alert rules query exists', () => {
    const dashboard = JSON.parse(read('docs/grafana/lien-dashboard.json'));
    const exprs: string[] = dashboard.panels.flatMap((panel: { targets?: { expr: string }[] }) => (panel.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const rules = read('docs/prometheus/lien-alerts.yml');
    const used = [...namesIn(exprs.join('\n'), families), ...namesIn(rules.split('\n').filter((l) => l.trim().startsWith('expr:')).join('\n'), families)];
    expect(used.filter((n) => !families.has(n))).toEqual([]);
    expect(dashboard.__inputs[0].type).toBe('datasource');
  });

  it('docs/operations.md explains every lien_ metric and every alert of the rule file', () => {
    const doc = read('docs/operations.md');
    const ours = [...families.keys()].filter((n) => n.startsWith('lien_'));
    expect(ours.length).toBeGreaterThan(15);
    expect(ours.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
    const alerts = [...read('docs/prometheus/lien-alerts.yml').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    expect(alerts.filter((a) => !doc.includes(`\`${a}\``))).toEqual([]);
  });
});
