import { createGroupCommit } from '../../src/tokens/group-commit';
import { shouldAskMemberTeams } from '../../src/tokens/lane';

/** The revoke lane's batching decisions, pure: how people are grouped, and when Pulumi is asked. */

describe('createGroupCommit', () => {
  test('a lone item runs at once; items submitted while a batch runs go together in the next', async () => {
    const batches: number[][] = [];
    let finishFirst: () => void = () => undefined;
    const firstDone = new Promise<void>((resolve) => {
      finishFirst = resolve;
    });
    const submit = createGroupCommit(async (items: number[]) => {
      batches.push(items);
      if (batches.length === 1) await firstDone;
      return items.map(
        (n): PromiseSettledResult<number> => (n === 3 ? { status: 'rejected', reason: new Error('three') } : { status: 'fulfilled', value: n * 10 }),
      );
    });
    const first = submit(1);
    const rest = [submit(2), submit(3), submit(4)];
    expect(batches).toEqual([[1]]);
    finishFirst();
    await expect(first).resolves.toBe(10);
    const outcomes = await Promise.allSettled(rest);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([20, 'three', 40]);
  });

  test('a batch that throws fails each of its items, and the next batch still runs', async () => {
    let calls = 0;
    const submit = createGroupCommit(async (items: string[]) => {
      calls += 1;
      if (calls === 1) throw new Error('database down');
      return items.map((s): PromiseSettledResult<string> => ({ status: 'fulfilled', value: s.toUpperCase() }));
    });
    const failed = submit('a');
    const later = submit('b');
    await expect(failed).rejects.toThrow('database down');
    await expect(later).resolves.toBe('B');
  });
});

describe('shouldAskMemberTeams', () => {
  test.each([
    [1, 0, true, 'a lone departure with nothing known: one call finds their teams'],
    [1, 3, true, 'a lone departure: one call, fewer than the teams to look at'],
    [4, 3, false, 'more logins than teams known: what the daemon knows is enough'],
    [800, 20, false, 'a mass offboarding never asks per person'],
  ])('%d logins, %d known teams → %s (%s)', (logins, known, expected) => {
    expect(shouldAskMemberTeams(logins, known)).toBe(expected);
  });
});
