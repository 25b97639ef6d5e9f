/** @jsxImportSource preact */
/** Small bar charts drawn on the server as SVG: no script, readable without JavaScript. */

export interface Bar {
  label: string;
  value: number;
}

export function BarChart({ bars, title, color, testId }: { bars: Bar[]; title: string; color: string; testId: string }) {
  const width = 640;
  const height = 190;
  const pad = { left: 40, right: 8, top: 22, bottom: 30 };
  const max = Math.max(1, ...bars.map((b) => b.value));
  const slot = (width - pad.left - pad.right) / Math.max(1, bars.length);
  const plotH = height - pad.top - pad.bottom;
  const total = bars.reduce((a, b) => a + b.value, 0);
  return (
    <figure style="margin:0">
      <figcaption>
        {title} <span class="muted">(total {total})</span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-label={`${title}, total ${total}`} data-testid={testId} data-total={String(total)}>
        <line x1={pad.left} y1={pad.top + plotH} x2={width - pad.right} y2={pad.top + plotH} stroke="#a9b3bd" />
        <text x={pad.left - 4} y={pad.top + 6} text-anchor="end">{max}</text>
        <text x={pad.left - 4} y={pad.top + plotH} text-anchor="end">0</text>
        {bars.map((b, i) => {
          const h = (b.value / max) * plotH;
          const x = pad.left + i * slot + 1;
          return (
            <g>
              <rect x={x} y={pad.top + plotH - h} width={Math.max(1, slot - 2)} height={h} fill={color}>
                <title>{`${b.label}: ${b.value}`}</title>
              </rect>
              {(i === 0 || i === bars.length - 1 || (i % 14 === 0 && bars.length - 1 - i >= 8)) && (
                <text x={x + slot / 2} y={height - 6} text-anchor="middle">
                  {b.label.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
