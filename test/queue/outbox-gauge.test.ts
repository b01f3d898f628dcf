import { appendOutbox } from '../../src/outbox';
import { registry } from '../../src/metrics';
import { createDirectoryRelay } from '../../src/runtime';
import { startHarness, type Harness } from '../reconcile/harness';

/**
 * docs/robustness.md, "Outbox and relay": "alert on the age of the oldest unpublished row". The gauges a running
 * relay reports at scrape time, read from the real outbox table: rows not yet due count, rows
 * already published do not.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function scraped(name: string): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

it('reports the depth and the age of the oldest unpublished row while the relay runs', async () => {
  await h.scim.db.transaction(async (trx) => {
    for (const minutesAgo of [20, 5]) {
      const [g] = await trx('groups')
        .insert({ display_name: `gauge-${minutesAgo}` })
        .returning('id');
      await appendOutbox(trx, { kind: 'group.created', groupId: g.id }, `req-gauge-${minutesAgo}`);
      // Waiting on a backoff, as while Redis is down: the relay leaves them where they are.
      await trx('outbox')
        .where('request_id', `req-gauge-${minutesAgo}`)
        .update({ created_at: trx.raw('now() - make_interval(mins => ?)', [minutesAgo]), available_at: trx.raw("now() + interval '1 hour'") });
    }
    // An old row already published says nothing about the backlog.
    const [g] = await trx('groups').insert({ display_name: 'gauge-published' }).returning('id');
    await appendOutbox(trx, { kind: 'group.created', groupId: g.id }, 'req-gauge-published');
    await trx('outbox')
      .where('request_id', 'req-gauge-published')
      .update({ created_at: trx.raw("now() - interval '2 hours'"), published_at: trx.fn.now() });
  });

  const relay = createDirectoryRelay({ db: h.scim.db, policy: h.policy, queues: h.queues, revokeLane: h.revokeLane, logger: h.logger });
  relay.start();
  try {
    expect(await scraped('idp_sync_outbox_depth')).toBe(2);
    const age = await scraped('idp_sync_outbox_oldest_age_seconds');
    expect(age).toBeGreaterThanOrEqual(20 * 60);
    expect(age).toBeLessThan(2 * 3600);
  } finally {
    await relay.stop();
  }
  // A stopped relay reports nothing rather than a reassuring 0.
  expect(await scraped('idp_sync_outbox_depth')).toBeNaN();
});
