import { HttpError } from '../app';
import type { Db } from '../directory/db';
import type { OrgDefaultPermission, OrgStack, Policy } from '../policy';
import { type AccessRow, explainAccess, findAccessPerson, readAccessFacts, recordAdminAction, type AdminChannel } from '../reconcile';
import { type InventoryToken, listLiveTokens, listTokens, mergeTokenInventory, type TokenDeps } from '../tokens';

/**
 * The access view and the access review (docs/access-review.md) for the admin API and the
 * console: parse the question, read the facts, ask `explainAccess`, hand back what to render.
 */

export interface AccessParts {
  db: Db;
  policy?: { readonly current: Policy };
  /** The org's stacks (the reconciler's); absent in a process without a Pulumi client. */
  orgStacks?: () => Promise<OrgStack[]>;
  /** For the review's token list (Pulumi's created, last-used and expiry); absent: ledger tokens only. */
  tokens?: TokenDeps;
}

export interface OrgDefaultView {
  permission: OrgDefaultPermission;
  /** Where the value comes from, in words. */
  source: string;
}

export interface AccessAnswer {
  /** Set for a person question: who the key named. */
  person?: { userId: string; userName: string };
  /** Set for a stack question. */
  stack?: { project: string; stack: string };
  policy: { file: string; digest: string };
  orgDefault: OrgDefaultView;
  rows: AccessRow[];
}

export interface AccessReview {
  generatedAt: string;
  policy: { file: string; digest: string };
  orgDefault: OrgDefaultView;
  rows: AccessRow[];
  tokens: InventoryToken[];
}

/** Who asks: an admin sees anyone; anyone else only themselves. */
export type AccessViewer = { admin: true } | { admin: false; userId: string };

export interface AccessService {
  /** `person`: SCIM id, SCIM userName or Pulumi login. */
  explainPerson(person: string, viewer: AccessViewer): Promise<AccessAnswer>;
  /** `stack`: `project/stack`; a viewer who is not an admin sees their own row only. */
  explainStack(stack: string, viewer: AccessViewer): Promise<AccessAnswer>;
  /** Every row and every live token, audited as an export by `actor` through `channel`. */
  exportReview(actor: { name: string; channel: AdminChannel; detail?: Record<string, unknown> }, format: 'csv' | 'json'): Promise<AccessReview>;
}

const STACK_KEY = /^([^/\s]{1,100})\/([^/\s]{1,100})$/;

function orgDefaultView(policy: Policy): OrgDefaultView {
  return policy.orgDefaultPermission === 'unknown'
    ? {
        permission: 'unknown',
        source: `the daemon reads the org's default stack permission from no Pulumi call, and ${policy.file} does not state it (orgDefaultPermission)`,
      }
    : { permission: policy.orgDefaultPermission, source: `orgDefaultPermission in ${policy.file}, as set in the Pulumi organization's settings` };
}

export function createAccessService(parts: AccessParts): AccessService {
  const { db } = parts;
  const ready = async (): Promise<{ policy: Policy; stacks: OrgStack[] }> => {
    if (!parts.policy || !parts.orgStacks) throw new HttpError(503, 'no_reconciler', 'this process has no reconciler: the org’s stacks are not known here');
    return { policy: parts.policy.current, stacks: await parts.orgStacks() };
  };
  const frame = (policy: Policy) => ({ policy: { file: policy.file, digest: policy.digest }, orgDefault: orgDefaultView(policy) });

  return {
    async explainPerson(key, viewer) {
      const found = await findAccessPerson(db, key);
      // Someone who is not an admin learns nothing of other people, not even whether they exist.
      if (!viewer.admin && found?.id !== viewer.userId) throw new HttpError(403, 'forbidden', 'you may see your own access only');
      if (!found) throw new HttpError(404, 'unknown_person', `no person with SCIM id, userName or Pulumi login ${JSON.stringify(key)}`);
      const { policy, stacks } = await ready();
      const rows = explainAccess(await readAccessFacts(db, policy, stacks), { userId: found.id });
      return { person: { userId: found.id, userName: found.user_name }, ...frame(policy), rows };
    },

    async explainStack(key, viewer) {
      const m = STACK_KEY.exec(key);
      if (!m) throw new HttpError(400, 'invalid_request', `stack must be project/stack, not ${JSON.stringify(key)}`);
      const { policy, stacks } = await ready();
      const stack = stacks.find((s) => s.projectName === m[1] && s.stackName === m[2]);
      if (!stack) throw new HttpError(404, 'unknown_stack', `the organization has no stack ${key}`);
      const filter = { stack: { project: stack.projectName, stack: stack.stackName }, ...(viewer.admin ? {} : { userId: viewer.userId }) };
      const rows = explainAccess(await readAccessFacts(db, policy, [stack]), filter);
      return { stack: filter.stack, ...frame(policy), rows };
    },

    async exportReview(actor, format) {
      const { policy, stacks } = await ready();
      const facts = await readAccessFacts(db, policy, stacks);
      const rows = explainAccess(facts);
      const teams = [...new Set(facts.bindings.map((b) => b.team))];
      // Without a Pulumi client only the ledger answers: no last use, and no tokens made in Pulumi.
      const tokens = parts.tokens ? await listLiveTokens(parts.tokens, teams) : mergeTokenInventory(await listTokens({ db }, { state: 'active' }), new Map());
      const review = { generatedAt: new Date().toISOString(), ...frame(policy), rows, tokens };
      await recordAdminAction(db, {
        op: 'access-review.export',
        actor: actor.name,
        channel: actor.channel,
        detail: { ...actor.detail, format, people: new Set(rows.map((r) => r.person.userId)).size, rows: rows.length, tokens: tokens.length },
      });
      return review;
    },
  };
}
