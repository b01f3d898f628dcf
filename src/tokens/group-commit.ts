/**
 * Group commit for the revoke lane: items submitted while a batch runs wait and go together in
 * the next one. A lone item starts at once (no gathering delay on a quiet day); a burst becomes
 * a few batches however many items it holds, each one stream of work.
 */
export function createGroupCommit<T, R>(run: (items: T[]) => Promise<Array<PromiseSettledResult<R>>>): (item: T) => Promise<R> {
  let waiting: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  let running = false;

  const next = async (): Promise<void> => {
    if (running || waiting.length === 0) return;
    running = true;
    const batch = waiting;
    waiting = [];
    try {
      const outcomes = await run(batch.map((w) => w.item)).catch((err: unknown) =>
        batch.map((): PromiseRejectedResult => ({ status: 'rejected', reason: err })),
      );
      batch.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome.status === 'fulfilled') w.resolve(outcome.value);
        else w.reject(outcome.reason);
      });
    } finally {
      running = false;
      void next();
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      void next();
    });
}
