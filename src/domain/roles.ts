/**
 * Who may do what: the roles of console users and API keys' holders, and what each role may do
 * in the console. Pure rules, shared by the services that enforce them and the pages that show
 * or hide an action.
 */
export type UserRole = 'operator' | 'admin' | 'support' | 'agent' | 'viewer';

export const USER_ROLES: readonly UserRole[] = ['admin', 'support', 'agent', 'viewer', 'operator'];
/** Roles a lender admin may hand out; `operator` belongs to the platform. */
export const LENDER_ROLES: readonly UserRole[] = ['admin', 'support', 'agent', 'viewer'];

/**
 * What each role may do in the console. `find` is looking up devices and contracts (a dealer
 * needs it to take a payment); `read` is the lender-wide views (dashboard, claims).
 * Operators see the device registry only, never borrower data.
 */
export type Permission = 'read' | 'find' | 'sell' | 'pay_cash' | 'pay' | 'reverse' | 'codes' | 'manual' | 'claims' | 'settings' | 'registry';

export const ROLE_PERMISSIONS: Record<UserRole, readonly Permission[]> = {
  admin: ['read', 'find', 'sell', 'pay_cash', 'pay', 'reverse', 'codes', 'manual', 'claims', 'settings'],
  support: ['read', 'find', 'pay_cash', 'pay', 'reverse', 'codes', 'manual', 'claims'],
  agent: ['find', 'sell', 'pay_cash'],
  viewer: ['read', 'find'],
  operator: ['registry'],
};

export function can(role: UserRole, p: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(p);
}
