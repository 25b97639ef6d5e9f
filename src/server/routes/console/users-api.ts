/**
 * `/v1/users`: a lender's console users over the REST API. Who may act in the lender's name is
 * access configuration, so like API keys and webhooks it needs a key holding every lender scope.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Services } from '../../../services/context.ts';
import { LENDER_ROLES } from '../../../domain/roles.ts';
import { addLenderUser, disableUser, listUsers } from '../../../services/users.ts';
import { actorOf, requireApiKey } from '../../auth.ts';
import { IdParam, Instant, Nullable, doc, lenderIdOf, plain, requireScope } from '../lender/common.ts';
import { USER_EXAMPLE } from '../lender/examples.ts';

const Role = Type.Union(LENDER_ROLES.map((r) => Type.Literal(r)), { description: 'admin, support, agent (dealer) or viewer' });
const User = Type.Object(
  { id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String(), createdAt: Instant, disabledAt: Nullable(Instant) },
  { additionalProperties: false, title: 'User', description: 'A console user of the lender', examples: [USER_EXAMPLE] },
);
const NewUserBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254 }),
    name: Type.String({ minLength: 1, maxLength: 120 }),
    password: Type.String({ minLength: 10, maxLength: 200, description: 'At least 10 characters; stored as a scrypt hash' }),
    role: Role,
  },
  { additionalProperties: false, title: 'UserRequest', examples: [{ email: USER_EXAMPLE.email, name: USER_EXAMPLE.name, password: 'a long passphrase, not this one', role: 'support' }] },
);

function view(u: { id: string; email: string; name: string; role: string; createdAt: Date; disabledAt: Date | null }) {
  return plain({ id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt, disabledAt: u.disabledAt });
}

export async function userApiRoutes(app: FastifyInstance, { s }: { s: Services }): Promise<void> {
  app.addHook('onRequest', requireApiKey(s, 'lender'));
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = requireScope('admin');

  r.get('/v1/users', { onRequest: admin, schema: doc('listUsers', 'users', 'List console users', 'admin', { 200: Type.Object({ items: Type.Array(User) }, { additionalProperties: false, title: 'UserList', description: 'Every console user of the lender', examples: [{ items: [USER_EXAMPLE] }] }) }) }, async (req) => ({
    items: (await listUsers(s.db, lenderIdOf(req))).map(view),
  }));

  r.post('/v1/users', { onRequest: admin, schema: { ...doc('createUser', 'users', 'Add a console user (sign-in with email and password)', 'admin', { 201: User }), body: NewUserBody } }, async (req, reply) => {
    const u = await addLenderUser(s, actorOf(req), req.body);
    return reply.status(201).send(view(u));
  });

  r.post('/v1/users/:id/disable', { onRequest: admin, schema: { ...doc('disableUser', 'users', 'Disable a console user and end their sessions', 'admin', { 200: User }), params: IdParam } }, async (req) =>
    view(await disableUser(s, actorOf(req), req.params.id)),
  );
}
