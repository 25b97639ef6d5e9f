/** @jsxImportSource preact */
import type { NotificationLogEntry } from '../../services/notifications.ts';
import { when, type Zone } from './layout.tsx';

const STATE_TEXT = { queued: 'queued', sent: 'sent', delivered: 'delivered', failed: 'failed' } as const;

/** The borrower's SMS messages and how far each got: queued, sent, delivered, or failed and why. */
export function MessagesSection({ messages, zone }: { messages: readonly NotificationLogEntry[]; zone: Zone }) {
  return (
    <section>
      <h2>Messages to the borrower</h2>
      {messages.length === 0 ? <p class="muted">None sent yet.</p> : (
        <table data-testid="messages">
          <thead><tr><th>Queued</th><th>Kind</th><th>Status</th><th>Via</th><th>Text</th></tr></thead>
          <tbody>
            {messages.map((m) => (
              <tr data-state={m.delivery.state}>
                <td>{when(m.createdAt, zone)}</td>
                <td>{m.kind.replaceAll('_', ' ')}</td>
                <td data-testid="message-status">
                  {STATE_TEXT[m.delivery.state]}
                  {m.delivery.state === 'delivered' && m.deliveredAt ? ` ${when(m.deliveredAt, zone)}` : ''}
                  {m.delivery.reason ? <span class="muted"> — {m.delivery.reason}</span> : null}
                  {m.delivery.state === 'queued' && m.attempts > 0 ? <span class="muted"> (attempt {m.attempts}, next {when(m.nextAttemptAt, zone)})</span> : null}
                </td>
                <td>{m.provider ?? '—'}</td>
                <td class="muted">{m.body}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
