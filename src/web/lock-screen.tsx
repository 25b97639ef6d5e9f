/** @jsxImportSource preact */
/**
 * The lock screen as HTML, from the same ScreenModel the terminal draws (src/agent/sim), so the
 * browser emulator and `lien device` show the same sentences. Values carry `data-testid`s and
 * the screen its `data-mode`, for browser tests.
 */
import type { ComponentChildren } from 'preact';
import type { ScreenLine, ScreenModel } from '../agent/sim/screen-model.ts';

function Line({ line, tag = 'p' }: { line: ScreenLine; tag?: 'p' | 'small' }) {
  const parts: ComponentChildren[] = line.parts.map((p) => (typeof p === 'string' ? p : <strong data-testid={p.id}>{p.text}</strong>));
  const Tag = tag;
  return <Tag data-testid={`line-${line.id}`}>{parts}</Tag>;
}

export function LockScreen({ model }: { model: ScreenModel }) {
  return (
    <section class={`screen mode-${model.mode}`} data-mode={model.mode} data-testid="screen">
      <div class="mode" data-testid="mode" data-mode={model.mode}>
        {model.modeLabel}
      </div>
      {model.title && <h1 data-testid="title">{model.title}</h1>}
      {model.lines.map((l) => (
        <Line line={l} />
      ))}
      {model.fields.length > 0 && (
        <dl>
          {model.fields.map((f) => (
            <div class="field">
              <dt>{f.label}</dt>
              <dd data-testid={f.id}>{f.value}</dd>
            </div>
          ))}
        </dl>
      )}
      {model.emergency && (
        <div class="emergency">
          <Line line={model.emergency} />
        </div>
      )}
      {model.notes.map((l) => (
        <Line line={l} tag="small" />
      ))}
    </section>
  );
}
