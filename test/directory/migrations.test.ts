import { createTestDatabase, type TestDatabase } from '../helpers/db';

describe('migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  it('create the directory tables with case-insensitive userName uniqueness', async () => {
    await t.db('users').insert({ user_name: 'Alice@Example.com' });
    await expect(t.db('users').insert({ user_name: 'alice@example.com' })).rejects.toThrow(/users_user_name_lower/);
  });
});
