import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LienError } from '../../../domain/errors.ts';
import { REBATE_RULES } from '../../../domain/compliance.ts';
import { STAGES } from '../../../domain/stage.ts';
import type { Services } from '../../../services/context.ts';
import { contractPayoff } from '../../../services/payoff.ts';
import { openDispute, resolveDispute } from '../../../services/disputes.ts';
import { applyManualAction, manualOutcome, MANUAL_ACTIONS } from '../../../services/manual-actions.ts';
import { contractDetail, listContracts } from '../../../services/views/api.ts';
import { actorOf } from '../../auth.ts';
import { DateString, Id, IdParam, Instant, Nullable, PageOf, PageQuery, Reason, ReasonBody, Row, doc, lenderIdOf, limitOf, plain, requireScope } from './common.ts';
import { CONTRACT_EXAMPLE, EX, PAYMENT_EXAMPLE } from './examples.ts';
import { PaymentRow } from './payments.ts';

const ContractRow = Row({
  id: Type.String(),
  device_id: Type.String(),
  borrower_ref: Type.String(),
  status: Type.String(),
  stage: Type.String(),
  stage_reason: Nullable(Type.String()),
  amount_overdue: Type.Integer(),
  outstanding: Type.Integer(),
  currency: Type.String(),
  lock_reference: Type.String(),
  manual_action: Type.Unknown(),
}, { title: 'Contract', description: 'A contract: the lien on one device, its stage and balances in minor units', examples: [CONTRACT_EXAMPLE] });

const Amounts = () => Type.Object({ principal: Type.Integer(), interest: Type.Integer(), fee: Type.Integer(), penalty: Type.Integer(), total: Type.Integer() });
const InstallmentRow = Row({
  n: Type.Integer(),
  dueDate: Type.String(),
  due: Amounts(),
  paid: Amounts(),
  remaining: Type.Integer(),
}, { title: 'Installment', description: 'An installment: what is due and what payments have been allocated to it' });

const INSTALLMENT = (n: number, dueDate: string, paid: number) => ({
  n,
  dueDate,
  due: { principal: 1000000, interest: 0, fee: 0, penalty: 0, total: 1000000 },
  paid: { principal: paid, interest: 0, fee: 0, penalty: 0, total: paid },
  remaining: 1000000 - paid,
});

const ContractDetail = Type.Object(
  {
    contract: ContractRow,
    installments: Type.Array(InstallmentRow),
    payments: Type.Array(PaymentRow),
    disputes: Type.Array(Row({ id: Type.String(), opened_at: Instant, resolved_at: Nullable(Instant) })),
    claims: Type.Array(Row({ id: Type.String(), status: Type.String() })),
  },
  {
    additionalProperties: false,
    title: 'ContractDetail',
    description: 'The contract with its schedule, payments, disputes and claims',
    examples: [
      {
        contract: CONTRACT_EXAMPLE,
        installments: [INSTALLMENT(1, '2026-02-05', 1000000), INSTALLMENT(2, '2026-03-05', 0), INSTALLMENT(3, '2026-04-05', 0)],
        payments: [PAYMENT_EXAMPLE],
        disputes: [],
        claims: [{ id: EX.claimId, status: 'approved' }],
      },
    ],
  },
);

const ManualActionResult = Type.Object(
  {
    contractId: Type.String(),
    action: Type.String(),
    applied: Type.Boolean({ description: 'false when a guardrail holds the action back; it stays recorded' }),
    heldBy: Nullable(Type.String()),
    message: Type.String(),
    stage: Type.String(),
    reason: Type.String(),
    policyVersion: Type.Integer(),
  },
  {
    title: 'ManualActionResult',
    description: 'What the action did, or which guardrail holds it back',
    examples: [{ contractId: EX.contractId, action: 'lock', applied: false, heldBy: 'dispute', message: 'The lock is recorded but held back: a dispute is open. The device stays notice.', stage: 'notice', reason: 'held_open_dispute', policyVersion: 5 }],
  },
);

const DisputeResult = Type.Object(
  { disputeId: Type.String(), stage: Type.String({ description: "The contract's stage now" }) },
  { title: 'DisputeResult', description: 'The dispute and where it left the contract', examples: [{ disputeId: EX.disputeId, stage: 'notice' }] },
);

const str = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Contracts: listing, the schedule with what each installment has been paid, disputes, manual actions. */
export async function contractRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const read = requireScope('read');
  const write = requireScope('write');

  r.get('/v1/contracts', {
    onRequest: read,
    schema: {
      ...doc('listContracts', 'contracts', 'List contracts, newest first', 'read', { 200: PageOf(ContractRow) }),
      querystring: Type.Object(
        {
          stage: Type.Optional(str(STAGES)),
          status: Type.Optional(str(['active', 'paid_off', 'written_off', 'returned'])),
          deviceId: Type.Optional(Id),
          ...PageQuery,
        },
        { additionalProperties: false },
      ),
    },
  }, async (req) => {
    const { stage, status, deviceId, cursor } = req.query;
    return plain(await listContracts(s.db, lenderIdOf(req), { stage, status, deviceId, cursor, limit: limitOf(req.query) }));
  });

  r.get('/v1/contracts/:id', {
    onRequest: read,
    schema: {
      ...doc('getContract', 'contracts', 'A contract with its schedule, allocations per installment, payments, disputes and claims', 'read', { 200: ContractDetail }),
      params: IdParam,
    },
  }, async (req) => plain(await contractDetail(s.db, lenderIdOf(req), req.params.id)));

  r.get('/v1/contracts/:id/payoff', {
    onRequest: read,
    schema: {
      ...doc('getPayoffQuote', 'contracts', 'Early payoff quote: what settles the contract on a date (declining balance: principal outstanding + interest accrued to the date + what is due; flat: the lender’s rebate rule). A payment of at least the amount, received that day, pays the contract off and releases the phone.', 'read', {
        200: Type.Object(
          {
            contractId: Type.String(),
            currency: Type.String(),
            asOf: DateString,
            rule: Type.Union(['accrued_to_date', ...REBATE_RULES].map((r) => Type.Literal(r)), { description: 'accrued_to_date (declining balance), or the flat-rate rebate rule of the lender’s profile' }),
            amount: Type.Integer({ description: 'Minor units that settle the contract on asOf' }),
            outstanding: Type.Integer({ description: 'What paying installment by installment would still cost' }),
            saving: Type.Integer({ description: 'outstanding − amount' }),
            breakdown: Type.Object({ due: Type.Integer(), principal: Type.Integer(), interest: Type.Integer(), paidAhead: Type.Integer() }),
          },
          {
            additionalProperties: false,
            title: 'PayoffQuote',
            description: 'What settles the contract on a date',
            examples: [{ contractId: EX.contractId, currency: 'KES', asOf: '2026-02-15', rule: 'accrued_to_date', amount: 2046500, outstanding: 2098500, saving: 52000, breakdown: { due: 0, principal: 2000000, interest: 46500, paidAhead: 0 } }],
          },
        ),
      }),
      params: IdParam,
      querystring: Type.Object({ date: Type.Optional(DateString) }, { additionalProperties: false }),
    },
  }, async (req) => {
    const c = await s.db.selectFrom('contracts').selectAll().where('id', '=', req.params.id).where('lender_id', '=', lenderIdOf(req)).executeTakeFirst();
    if (!c) throw new LienError('not_found', `No contract ${req.params.id}`);
    return contractPayoff(s.db, c, req.query.date ?? s.clock.now());
  });

  r.post('/v1/contracts/:id/actions', {
    onRequest: write,
    schema: {
      ...doc('applyManualAction', 'contracts', 'Lock, unlock, pause, release or clear by hand (guardrails still apply)', 'write', { 200: ManualActionResult }),
      params: IdParam,
      body: Type.Object(
        {
          action: str(MANUAL_ACTIONS),
          reason: Reason,
          until: Type.Optional(Instant),
        },
        { additionalProperties: false, title: 'ManualActionRequest', examples: [{ action: 'lock', reason: 'Borrower unreachable for 30 days; branch manager approved', until: '2026-03-31T21:00:00.000Z' }] },
      ),
    },
  }, async (req) => {
    const b = req.body;
    const ev = await applyManualAction(s, actorOf(req), req.params.id, {
      action: b.action as (typeof MANUAL_ACTIONS)[number],
      reason: b.reason,
      ...(b.until ? { until: new Date(b.until) } : {}),
    });
    const out = manualOutcome(b.action as (typeof MANUAL_ACTIONS)[number], ev);
    return { contractId: ev.contractId, action: b.action, ...out, stage: ev.decision.stage, reason: ev.decision.reason, policyVersion: ev.policyVersion };
  });

  r.post('/v1/contracts/:id/disputes', {
    onRequest: write,
    schema: {
      ...doc('openDispute', 'contracts', 'Open a dispute (pauses escalation, lifts a lock)', 'write', { 201: DisputeResult }),
      params: IdParam,
      body: ReasonBody('DisputeRequest', 'Borrower says the February installment was paid at the branch'),
    },
  }, async (req, reply) => reply.status(201).send(await openDispute(s, actorOf(req), req.params.id, req.body.reason)));

  r.post('/v1/disputes/:id/resolve', {
    onRequest: write,
    schema: {
      ...doc('resolveDispute', 'contracts', 'Resolve a dispute', 'write', { 200: DisputeResult }),
      params: IdParam,
      body: ReasonBody('DisputeResolution', 'Branch receipt found; payment posted as SGF2X8P4LM'),
    },
  }, async (req) => resolveDispute(s, actorOf(req), req.params.id, req.body.reason));
}
