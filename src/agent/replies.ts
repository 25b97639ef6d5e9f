/**
 * What the agent accepts from the network. Answers are not signed, so each is checked against
 * the protocol before any field is used; unknown fields are allowed (a newer server may add
 * them, docs/protocol.md §3).
 */
import { isCheckinResponse, isEnrollResponse, type CheckinResponse, type EnrollResponse } from '../protocol/index.ts';
import type { Reply } from './ports.ts';

function checked<T>(reply: Reply<T>, ok: (body: unknown) => boolean, what: string): Reply<T> {
  if (!reply.ok || ok(reply.body)) return reply;
  return { ok: false, status: 200, code: 'bad_response', message: `the server's ${what} answer does not match the protocol` };
}

export const checkEnrollReply = (reply: Reply<EnrollResponse>) => checked(reply, isEnrollResponse, 'enrollment');
export const checkCheckinReply = (reply: Reply<CheckinResponse>) => checked(reply, isCheckinResponse, 'check-in');
