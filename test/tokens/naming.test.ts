import { randomUUID } from 'node:crypto';
import { isIssuedName, privateTeamName, tokenName, MAX_PULUMI_NAME } from '../../src/tokens/naming';

describe('private team and token names', () => {
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('derives the private team name from the ledger id, deterministically', () => {
    expect(privateTeamName(id)).toBe('pis-tok-0f8fad5bd9cb469fa16570867728950e');
    expect(privateTeamName(id.toUpperCase())).toBe(privateTeamName(id));
    expect(isIssuedName(privateTeamName(id))).toBe(true);
    expect(isIssuedName('platform')).toBe(false);
  });

  it('stays within 40 characters for any id and generation', () => {
    for (let i = 0; i < 100; i++) {
      const u = randomUUID();
      expect(privateTeamName(u).length).toBeLessThanOrEqual(MAX_PULUMI_NAME);
      expect(tokenName(u, 999).length).toBeLessThanOrEqual(MAX_PULUMI_NAME);
    }
  });

  it('gives each generation a different token name', () => {
    expect(tokenName(id, 1)).toMatch(/^pis-tok-[0-9a-z]{25}-1$/);
    expect(tokenName(id, 1)).toBe(tokenName(id.toUpperCase(), 1));
    expect(tokenName(id, 2)).not.toBe(tokenName(id, 1));
  });

  it('maps different ids to different token names (the base-36 form keeps all 128 bits)', () => {
    const names = new Set(Array.from({ length: 1000 }, () => tokenName(randomUUID(), 1)));
    expect(names.size).toBe(1000);
    expect(tokenName('00000000-0000-4000-8000-000000000000', 1)).not.toBe(tokenName('00000000-0000-4000-8000-000000000001', 1));
  });

  it('rejects ids that are not UUIDs and generations out of range', () => {
    expect(() => privateTeamName('x; drop')).toThrow(/not a UUID/);
    expect(() => tokenName(id, 0)).toThrow(/out of range/);
    expect(() => tokenName(id, 1000)).toThrow(/out of range/);
  });
});
