import { isDatabaseUnavailable } from '../../src/directory';
import { toScimError } from '../../src/scim/errors';

describe('a database that cannot be reached', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['server shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['server starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['connection exception class', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['pool exhausted', Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' })],
    ['socket closed', new Error('Connection terminated unexpectedly')],
  ])('%s answers 503 with Retry-After', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true);
    const scim = toScimError(err);
    expect(scim.status).toBe(503);
    expect(scim.headers['Retry-After']).toBe('5');
    expect(scim.toBody()).toMatchObject({ status: '503' });
  });

  it('is told apart from a bad query, which stays a 500', () => {
    const err = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    expect(isDatabaseUnavailable(err)).toBe(false);
    expect(toScimError(err).status).toBe(500);
  });
});
