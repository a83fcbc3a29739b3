import { type Actor, type ApiScope, hasScope, isAdmin } from './actor.ts';
import { forbidden, unauthenticated } from './errors.ts';

/** What an operation asks of its caller: nothing, a signed-in caller, a scope, or an admin (role and scope). */
export type Requirement = 'public' | 'authenticated' | ApiScope;

/**
 * Every service operation and what it needs. Both faces name the operation they run (the GraphQL field map in
 * schema/permissions.ts, the route map in rest-compat/route-scopes.ts) and go through `authorize`, so a key's
 * scopes mean the same on every face. Ownership (whose job) is still decided by the services, on the rows.
 */
export const OPERATIONS = {
  'system.health': 'public',
  'auth.login': 'public',
  'account.read': 'authenticated',
  'account.keys': 'authenticated',
  'jobs.read': 'read',
  'assets.read': 'read',
  'catalog.read': 'read',
  'quota.read': 'read',
  'providers.read': 'read',
  'costs.read': 'read',
  'comfy.read': 'read',
  'jobs.submit': 'generate',
  'jobs.control': 'generate',
  'assets.upload': 'generate',
  'talkingHeadConfig.write': 'generate',
  'workflows.write': 'generate',
  'assets.delete': 'generate',
  'webhooks.read': 'read',
  'webhooks.manage': 'generate',
  'queues.read': 'read',
  'queues.manage': 'admin',
  'users.manage': 'admin',
  'quota.manage': 'admin',
  'workers.read': 'admin',
  'catalog.manage': 'admin',
  'providers.manage': 'admin',
  'providers.monitor': 'admin',
  'comfy.manage': 'admin',
  'telemetry.read': 'admin',
  'system.config': 'admin',
} as const satisfies Record<string, Requirement>;

export type Operation = keyof typeof OPERATIONS;

export const requirementOf = (operation: Operation): Requirement => OPERATIONS[operation];

/** Whether `actor` may run `operation`; the error says why not, in words a key's owner can act on. */
export function checkOperation(actor: Actor | null | undefined, operation: Operation): true | Error {
  const needs = OPERATIONS[operation];
  if (needs === 'public') return true;
  if (!actor) return unauthenticated('Authentication required: send "Authorization: Bearer <token or API key>"');
  if (needs === 'authenticated') return true;
  if (needs === 'admin') return isAdmin(actor) ? true : forbidden('Admins only');
  return hasScope(actor, needs) ? true : forbidden(`This API key lacks the "${needs}" scope`);
}

/** Throws unless `actor` may run `operation`. */
export function authorize(actor: Actor | null | undefined, operation: Operation): void {
  const verdict = checkOperation(actor, operation);
  if (verdict !== true) throw verdict;
}
