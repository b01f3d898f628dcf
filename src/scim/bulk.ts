import type { Db } from '../directory';
import { UUID_PATTERN } from '../util';
import * as commands from './commands';
import { invalidSyntax, invalidValue, methodNotAllowed, notFound, ScimError, toScimError } from './errors';
import { membershipPatch } from './patch';
import { etagOf } from './resource-columns';
import { MAX_BULK_OPERATIONS, MAX_BULK_PAYLOAD_BYTES } from './schema';

/**
 * `POST /Bulk` (RFC 7644 §3.7): many resource operations in one request.
 *
 * - Each operation runs the command its single request would (commands/): the same
 *   validation, its own transaction and outbox rows. Atomicity is per operation (§3.7: the
 *   service provider continues "and disregard[s] partial failures").
 * - `bulkId` (§3.7.2): a POST names what it creates; another operation refers to it as
 *   `"bulkId:<id>"`, in its `data` (a group's `members[].value`, a `manager.value`) or in its
 *   `path` (`/Groups/bulkId:<id>`), and the server puts the created resource's id there.
 *   Operations run in request order, except that one waits for the operations it refers to.
 * - Circular references (§3.7.1): the RFC lets the server "stop after a failed attempt and
 *   instead return HTTP status code 409 (Conflict)"; every operation of a cycle, and every one
 *   waiting on a cycle, is answered 409 without running.
 * - `failOnErrors` (§3.7): once that many operations have failed, the rest are not run and the
 *   response lists only what ran.
 * - Limits (§3.7.4): `maxOperations` and `maxPayloadSize` as ServiceProviderConfig advertises
 *   them; beyond either, 413 naming the limit.
 */

export const BULK_REQUEST_URN = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_URN = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS = new Set<string>(['POST', 'PUT', 'PATCH', 'DELETE']);
/** RFC 7644 §3.7.2: "the value is 'bulkId:qwerty'". */
const BULK_REF = /^bulkId:(.+)$/;

/** One entry of `Operations`, read; `invalid` is why it cannot run (it is answered, the others still run). */
export interface BulkOperation {
  method: string;
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
  invalid?: ScimError;
  /** bulkIds this operation refers to in its path or data. */
  refs: string[];
}

export interface BulkRequest {
  failOnErrors?: number;
  operations: BulkOperation[];
}

/** RFC 7644 §3.7.4: "The returned response MUST specify the limit exceeded in the body of the error response." */
export const bulkPayloadTooLarge = () =>
  new ScimError(413, `The size of the bulk operation exceeds the maxPayloadSize (${MAX_BULK_PAYLOAD_BYTES}).`, 'tooLarge');
const tooManyOperations = (n: number) => new ScimError(413, `The number of operations (${n}) exceeds the maxOperations (${MAX_BULK_OPERATIONS}).`, 'tooLarge');

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every bulkId named as `"bulkId:<id>"` where a resource id stands: a `value` (members[].value,
 * manager.value), however deep. Other text that happens to start with `bulkId:` is left alone.
 */
function bulkRefsIn(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) bulkRefsIn(item, into);
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const match = isReferenceKey(key) && typeof item === 'string' ? BULK_REF.exec(item) : null;
      if (match) into.add(match[1]!);
      else bulkRefsIn(item, into);
    }
  }
  return into;
}

const isReferenceKey = (key: string) => key.toLowerCase() === 'value';

/** The bulkId a path names as its resource id (`/Groups/bulkId:<id>`). */
function pathRef(path: string): string[] {
  const match = BULK_REF.exec(path.split('/')[2] ?? '');
  return match ? [match[1]!] : [];
}

/** Reads a bulk request body. A malformed request as a whole is a 400 (413 past maxOperations); a malformed operation only fails itself. */
export function parseBulkRequest(body: unknown): BulkRequest {
  if (!isPlainObject(body)) throw invalidSyntax('a bulk request needs a JSON object body');
  const fields = Object.fromEntries(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  const operations = fields.operations;
  if (!Array.isArray(operations) || operations.length === 0) throw invalidSyntax("a bulk request needs a non-empty 'Operations' array");
  if (operations.length > MAX_BULK_OPERATIONS) throw tooManyOperations(operations.length);
  const failOnErrors = fields.failonerrors;
  if (failOnErrors !== undefined && failOnErrors !== null && !(Number.isInteger(failOnErrors) && (failOnErrors as number) >= 1)) {
    throw invalidValue("'failOnErrors' must be an integer of at least 1");
  }
  const parsed = operations.map(parseOperation);
  const seen = new Set<string>();
  for (const op of parsed) {
    if (op.bulkId === undefined) continue;
    if (seen.has(op.bulkId)) throw invalidValue(`bulkId '${op.bulkId}' is used by more than one operation; it must be unique within the request`);
    seen.add(op.bulkId);
  }
  return { failOnErrors: (failOnErrors as number | null | undefined) ?? undefined, operations: parsed };
}

function parseOperation(raw: unknown, i: number): BulkOperation {
  if (!isPlainObject(raw)) return { method: '', path: '', refs: [], invalid: invalidSyntax(`operation ${i + 1} must be an object`) };
  const fields = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
  const method = typeof fields.method === 'string' ? fields.method.toUpperCase() : '';
  const path = typeof fields.path === 'string' ? fields.path : '';
  const bulkId = typeof fields.bulkid === 'string' && fields.bulkid !== '' ? fields.bulkid : undefined;
  const version = typeof fields.version === 'string' ? fields.version : undefined;
  const op: BulkOperation = { method, path, bulkId, version, data: fields.data, refs: [...bulkRefsIn(fields.data, new Set(pathRef(path)))] };
  if (!METHODS.has(method)) op.invalid = invalidValue(`operation ${i + 1}: 'method' must be POST, PUT, PATCH or DELETE`);
  else if (!path) op.invalid = invalidValue(`operation ${i + 1}: 'path' is required`);
  // RFC 7644 §3.7: bulkId is "REQUIRED when 'method' is 'POST'".
  else if (method === 'POST' && !bulkId) op.invalid = invalidValue(`operation ${i + 1}: a POST needs a 'bulkId'`);
  else if (fields.bulkid !== undefined && typeof fields.bulkid !== 'string') op.invalid = invalidValue(`operation ${i + 1}: 'bulkId' must be a string`);
  return op;
}

/**
 * The order operations run in: request order, except that an operation waits until every POST
 * whose bulkId it refers to has run. Operations that can never run because their references
 * lead round a cycle are returned in `circular`, in request order.
 */
export function bulkOrder(operations: readonly Pick<BulkOperation, 'method' | 'bulkId' | 'refs'>[]): { order: number[]; circular: number[] } {
  const creator = new Map<string, number>();
  operations.forEach((op, i) => {
    if (op.method === 'POST' && op.bulkId !== undefined) creator.set(op.bulkId, i);
  });
  // A reference to a bulkId no POST declares is not a wait: that operation runs and fails on it.
  const waitsFor = operations.map((op) => op.refs.map((ref) => creator.get(ref)).filter((i): i is number => i !== undefined));
  const order: number[] = [];
  const done = new Set<number>();
  let pending = operations.map((_, i) => i);
  let progressed = true;
  while (progressed && pending.length > 0) {
    progressed = false;
    const still: number[] = [];
    for (const i of pending) {
      if (waitsFor[i]!.every((j) => done.has(j))) {
        order.push(i);
        done.add(i);
        progressed = true;
      } else {
        still.push(i);
      }
    }
    pending = still;
  }
  return { order, circular: pending };
}

/** One entry of the response's `Operations` (RFC 7644 §3.7.3). */
export interface BulkResult {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: Record<string, unknown>;
}

export interface BulkContext {
  db: Db;
  /** The /scim/v2 base URL locations are given under. */
  baseUrl: string;
  requestId: string;
  /** Told each operation's outcome, for the access log; `error` only for a fault of this server. */
  onOperation?: (entry: { index: number; method: string; resource: string; id?: string; status: number; error?: unknown }) => void;
}

/** Runs a parsed bulk request; the BulkResponse body. */
export async function runBulk(request: BulkRequest, context: BulkContext): Promise<Record<string, unknown>> {
  const { operations, failOnErrors } = request;
  const { order, circular } = bulkOrder(operations);
  /** bulkId → the id of what its POST created. */
  const created = new Map<string, string>();
  const results: (BulkResult | undefined)[] = new Array(operations.length);
  let errors = 0;
  const circularIds = circular.map((i) => operations[i]!.bulkId ?? `operation ${i + 1}`).join(', ');
  for (const i of [...order, ...circular]) {
    if (failOnErrors !== undefined && errors >= failOnErrors) break;
    const op = operations[i]!;
    const outcome = circular.includes(i)
      ? failure(op, new ScimError(409, `circular bulkId references among ${circularIds}: an operation cannot wait for one that waits for it`))
      : await runOperation(op, created, context);
    if (Number(outcome.result.status) >= 400) errors++;
    results[i] = outcome.result;
    context.onOperation?.({
      index: i,
      method: op.method,
      resource: outcome.resource,
      id: outcome.id,
      status: Number(outcome.result.status),
      error: outcome.fault,
    });
  }
  return { schemas: [BULK_RESPONSE_URN], Operations: results.filter((r): r is BulkResult => r !== undefined) };
}

interface Outcome {
  result: BulkResult;
  resource: string;
  id?: string;
  fault?: unknown;
}

function failure(op: BulkOperation, err: unknown, location?: string): Outcome {
  const error = toScimError(err);
  const fault = error.status >= 500 && error.status !== 501 ? err : undefined;
  return {
    result: {
      method: op.method,
      ...(op.bulkId ? { bulkId: op.bulkId } : {}),
      ...(location ? { location } : {}),
      status: String(error.status),
      response: error.toBody(),
    },
    resource: resourceOf(op.path),
    fault,
  };
}

function resourceOf(path: string): string {
  return /^\/(Users|Groups)\b/i.exec(path)?.[1] ?? 'other';
}

/** The created resource's id for a `"bulkId:<id>"` reference; a reference nothing created fails the operation. */
function resolveRef(text: string, created: ReadonlyMap<string, string>): string {
  const match = BULK_REF.exec(text);
  if (!match) return text;
  const id = created.get(match[1]!);
  if (id === undefined) throw invalidValue(`'${text}' names no resource: no POST of this request with that bulkId succeeded before it`);
  return id;
}

/** `value` with each reference (see bulkRefsIn) replaced by the id of what it names. */
function resolveRefs(value: unknown, created: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, created));
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, isReferenceKey(key) && typeof item === 'string' ? resolveRef(item, created) : resolveRefs(item, created)]),
  );
}

/** Bare tags of a `version`, as If-Match would carry them (weak and strong compare equal). */
function versionTags(version: string | undefined): string[] | undefined {
  return version === undefined ? undefined : [version.trim().replace(/^W\//i, '').replace(/^"|"$/g, '')];
}

const ENDPOINT = /^\/(Users|Groups)(?:\/([^/]+))?\/?$/i;

async function runOperation(op: BulkOperation, created: Map<string, string>, context: BulkContext): Promise<Outcome> {
  if (op.invalid) return failure(op, op.invalid);
  let location: string | undefined;
  try {
    const path = op.path
      .split('/')
      .map((segment, i) => (i === 2 ? resolveRef(segment, created) : segment))
      .join('/');
    const endpoint = ENDPOINT.exec(path);
    if (!endpoint) throw notFound(`no SCIM endpoint ${op.method} ${op.path}`);
    const kind = endpoint[1]!.toLowerCase() === 'users' ? 'Users' : 'Groups';
    const id = endpoint[2];
    if (op.method === 'POST') {
      if (id !== undefined) throw methodNotAllowed(`POST is not supported on /${kind}/{id}`);
    } else {
      if (id === undefined) throw methodNotAllowed(`${op.method} needs a resource: /${kind}/{id}`);
      if (!UUID_PATTERN.test(id)) throw notFound(`${kind === 'Users' ? 'User' : 'Group'} ${id} not found`);
      location = `${context.baseUrl}/${kind}/${id}`;
    }
    const data = resolveRefs(op.data, created);
    const { status, id: resourceId, version } = await dispatch(context, op.method as Method, kind, id, data, versionTags(op.version));
    if (op.method === 'POST') {
      created.set(op.bulkId!, resourceId);
      location = `${context.baseUrl}/${kind}/${resourceId}`;
    }
    return {
      result: {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        location,
        ...(version !== undefined ? { version: etagOf(version) } : {}),
        status: String(status),
      },
      resource: kind,
      id: resourceId,
    };
  } catch (err) {
    return failure(op, err, location);
  }
}

/** The command a single request of the same method and endpoint calls (router.ts), with the status it answers. */
async function dispatch(
  context: BulkContext,
  method: Method,
  kind: 'Users' | 'Groups',
  id: string | undefined,
  data: unknown,
  ifMatch: string[] | undefined,
): Promise<{ status: number; id: string; version?: string }> {
  const { db, requestId } = context;
  const write = { requestId, ifMatch };
  const row = (status: number, r: { id: string; version: string | number }) => ({ status, id: r.id, version: String(r.version) });
  if (kind === 'Users') {
    switch (method) {
      case 'POST':
        return row(201, await commands.createUser(db, data, requestId));
      case 'PUT':
        return row(200, (await commands.replaceUser(db, id!, data, write)).row);
      case 'PATCH':
        return row(200, await commands.patchUser(db, id!, patchBody(data), write));
      case 'DELETE':
        await commands.deleteUser(db, id!, write);
        return { status: 204, id: id! };
    }
  }
  switch (method) {
    case 'POST':
      return row(201, await commands.createGroup(db, data, requestId));
    case 'PUT':
      return row(200, await commands.replaceGroup(db, id!, data, write));
    case 'PATCH': {
      // As PATCH /Groups/{id}: a membership-only PATCH takes the one-round-trip path, and
      // either answers 204.
      const body = patchBody(data);
      const membership = ifMatch ? undefined : membershipPatch(body);
      if (membership) return { status: 204, id: id!, version: await commands.patchGroupMembers(db, id!, membership, requestId) };
      return row(204, await commands.patchGroup(db, id!, body, write));
    }
    case 'DELETE':
      await commands.deleteGroup(db, id!, write);
      return { status: 204, id: id! };
  }
}

/**
 * A PATCH's `data` is a PatchOp body. RFC 7644 §3.7.3's own example writes it as a bare list of
 * operations inside braces (`"data": {[ ... ]}`, which is not JSON); a bare array is read as
 * that list.
 */
function patchBody(data: unknown): unknown {
  return Array.isArray(data) ? { Operations: data } : data;
}
