/**
 * A small SCIM client speaking the way Okta does (docs/idp-behaviour.md, "Okta"): `application/scim+json`,
 * bearer auth, filters URL-encoded with %20, path-less PATCH for deactivate, PUT of the whole
 * user for profile updates, one PATCH with remove+add for membership.
 */

export const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ScimAnswer<T = unknown> {
  status: number;
  body: T;
  /** Milliseconds from sending the request to having read the answer. */
  ms: number;
  /** performance.now() when the answer had been read. */
  at: number;
  /** The Retry-After header in seconds (1 when absent or unreadable). */
  retryAfterSeconds: number;
}

export class ScimClient {
  constructor(
    /** e.g. http://127.0.0.1:8080/scim/v2 */
    readonly base: string,
    private readonly token: string,
  ) {}

  get headers(): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      accept: 'application/scim+json',
      'content-type': 'application/scim+json; charset=utf-8',
      'user-agent': 'Okta SCIM Client 1.0.0',
    };
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ScimAnswer<T>> {
    const started = performance.now();
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: this.headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const at = performance.now();
    let parsed: unknown;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    return { status: res.status, body: parsed as T, ms: at - started, at, retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1 };
  }

  /**
   * Like `request`, but throws unless the status is one of `ok`. A 429 is waited out for its
   * Retry-After and sent again, as Okta and Entra do.
   */
  async expect<T = Record<string, unknown>>(ok: number[], method: string, path: string, body?: unknown): Promise<ScimAnswer<T>> {
    let answer = await this.request<T>(method, path, body);
    for (let retries = 0; answer.status === 429 && retries < 20; retries++) {
      await new Promise((r) => setTimeout(r, answer.retryAfterSeconds * 1000));
      answer = await this.request<T>(method, path, body);
    }
    if (!ok.includes(answer.status)) {
      throw new Error(`SCIM ${method} ${path.split('?')[0]} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    }
    return answer;
  }

  createUser(user: OktaUser): Promise<ScimAnswer<{ id: string }>> {
    return this.expect([201], 'POST', '/Users', user);
  }

  createGroup(displayName: string): Promise<ScimAnswer<{ id: string }>> {
    return this.expect([201], 'POST', '/Groups', { schemas: [SCIM_GROUP], displayName, members: [] });
  }

  /** Okta's membership PATCH: `add` to `members` with `{value, display}` entries. */
  addMembers(groupId: string, members: { value: string; display?: string }[]): Promise<ScimAnswer> {
    return this.expect([200, 204], 'PATCH', `/Groups/${groupId}`, {
      schemas: [SCIM_PATCH],
      Operations: [{ op: 'add', path: 'members', value: members }],
    });
  }

  removeMember(groupId: string, userId: string): Promise<ScimAnswer> {
    return this.expect([200, 204], 'PATCH', `/Groups/${groupId}`, {
      schemas: [SCIM_PATCH],
      Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
    });
  }

  /** Okta's path-less deactivate. */
  setActive(userId: string, active: boolean): Promise<ScimAnswer> {
    return this.expect([200, 204], 'PATCH', `/Users/${userId}`, {
      schemas: [SCIM_PATCH],
      Operations: [{ op: 'replace', value: { active } }],
    });
  }

  findByUserName(userName: string): Promise<ScimAnswer<{ totalResults: number; Resources: { id: string }[] }>> {
    return this.expect([200], 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`);
  }
}

export interface OktaUser {
  schemas: string[];
  userName: string;
  externalId: string;
  name: { givenName: string; familyName: string };
  emails: { primary: boolean; value: string; type: string }[];
  displayName: string;
  locale: string;
  groups: never[];
  password: string;
  active: boolean;
}

/** The body Okta posts when a user is assigned (docs/idp-behaviour.md, "User lifecycle"). */
export function oktaUser(i: number, domain = 'example.test'): OktaUser {
  const given = `Given${i}`;
  const family = `Family${i}`;
  const userName = `user${i}@${domain}`;
  return {
    schemas: [SCIM_USER],
    userName,
    externalId: `00u${i.toString(36).padStart(17, '0')}`,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: `${given} ${family}`,
    locale: 'en-US',
    groups: [],
    password: `Pw-${i}-not-used`,
    active: true,
  };
}

/** The Pulumi login the bench policy maps a user to (`identity.login: userNameLocalPart`). */
export function loginOf(i: number): string {
  return `user${i}`;
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      await fn(items[index], index);
    }
  });
  await Promise.all(workers);
}
