import { notFound, toScimError } from '../../src/scim/errors';

/**
 * The SCIM error edge: whatever a SCIM route throws becomes one RFC 7644 §3.12 answer. IdPs act
 * on status and scimType (409 uniqueness: look the user up; 503: retry later; 400: give up), and
 * a 500 never carries a message or stack from inside the process.
 */

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const bodyParserError = (type: string, status: number) => Object.assign(new Error(`body-parser: ${type}`), { type, status, expose: true });
const pgError = (code: string, constraint?: string) => Object.assign(new Error(`pg ${code} at secret_table`), { code, constraint });

describe('the SCIM error table', () => {
  it.each<[string, number, unknown, string | undefined, string]>([
    ['a ScimError', 404, notFound('User 1 not found'), undefined, 'User 1 not found'],
    ['malformed JSON', 400, bodyParserError('entity.parse.failed', 400), 'invalidSyntax', 'request body is not valid JSON'],
    ['a body over the limit', 413, bodyParserError('entity.too.large', 413), undefined, 'request body is too large'],
    ['an unsupported charset', 415, bodyParserError('charset.unsupported', 415), undefined, 'unsupported request body encoding'],
    ['an unsupported content encoding', 415, bodyParserError('encoding.unsupported', 415), undefined, 'unsupported request body encoding'],
    ['an aborted body', 400, bodyParserError('request.aborted', 400), 'invalidSyntax', 'request body was aborted'],
    ['a taken userName', 409, pgError('23505', 'users_user_name_lower'), 'uniqueness', 'a User with this userName already exists'],
    ['another unique violation', 409, pgError('23505', 'groups_pkey'), 'uniqueness', 'a resource with this unique attribute already exists'],
    ['a value Postgres cannot read', 400, pgError('22P02'), 'invalidValue', 'a value has the wrong format'],
    ['another client error', 405, Object.assign(new Error('Method Not Allowed'), { status: 405 }), undefined, 'bad request'],
    [
      'an unreachable database',
      503,
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      undefined,
      'the directory store is unavailable; retry later',
    ],
    ['a bug', 500, new TypeError("Cannot read properties of undefined (reading 'secret_field')"), undefined, 'internal server error'],
    ['a server-side query error', 500, pgError('42703'), undefined, 'internal server error'],
    ['a thrown string', 500, 'secret_string', undefined, 'internal server error'],
    ['a thrown null', 500, null, undefined, 'internal server error'],
  ])('answers %s with %i', (_what, status, thrown, scimType, detail) => {
    const error = toScimError(thrown);
    expect(error.status).toBe(status);
    expect(error.toBody()).toEqual({ schemas: [ERROR_URN], status: String(status), ...(scimType ? { scimType } : {}), detail });
    expect(JSON.stringify(error.toBody())).not.toMatch(/secret|at .*\.ts/);
  });
});
