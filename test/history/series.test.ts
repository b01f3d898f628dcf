import { chartSeries, histogramQuantile, sampleRows, windowStartOf } from '../../src/history';

/** The metrics history's pure side: what a sample writes, and what the charts read back. */

describe('sampleRows', () => {
  it.each([
    ['first sample: every count so far', undefined, { a: 3, b: 0 }, [{ series: 'a', merge: 'sum', value: 3 }]],
    ['growth since the previous sample', { a: 3, b: 1 }, { a: 5, b: 1 }, [{ series: 'a', merge: 'sum', value: 2 }]],
    ['a count that shrank: the process restarted, all of it is new', { a: 10 }, { a: 4 }, [{ series: 'a', merge: 'sum', value: 4 }]],
    ['a count new since the previous sample', { a: 1 }, { a: 1, c: 2 }, [{ series: 'c', merge: 'sum', value: 2 }]],
  ] as const)('%s', (_name, previous, current, expected) => {
    expect(sampleRows(previous ? { totals: { ...previous }, levels: {} } : undefined, { totals: { ...current }, levels: {} })).toEqual(expected);
  });

  it('writes every level as read, whatever the previous sample said', () => {
    const rows = sampleRows({ totals: {}, levels: { queue_waiting: 9 } }, { totals: {}, levels: { queue_waiting: 2, outbox_depth: 0 } });
    expect(rows).toEqual([
      { series: 'queue_waiting', merge: 'max', value: 2 },
      { series: 'outbox_depth', merge: 'max', value: 0 },
    ]);
  });
});

describe('histogramQuantile', () => {
  const buckets = (counts: Array<[number, number]>) => counts.map(([le, count]) => ({ le, count }));
  it.each([
    [
      'no observations',
      0.5,
      buckets([
        [0.1, 0],
        [Number.POSITIVE_INFINITY, 0],
      ]),
      null,
    ],
    [
      'all in the first bucket: interpolated from 0',
      0.5,
      buckets([
        [0.1, 10],
        [0.2, 10],
        [Number.POSITIVE_INFINITY, 10],
      ]),
      0.05,
    ],
    [
      'rank inside the second bucket',
      0.5,
      buckets([
        [0.1, 4],
        [0.2, 8],
        [Number.POSITIVE_INFINITY, 8],
      ]),
      0.1,
    ],
    [
      'p99 in the second bucket',
      0.99,
      buckets([
        [0.1, 50],
        [0.3, 100],
        [Number.POSITIVE_INFINITY, 100],
      ]),
      0.1 + 0.2 * (49 / 50),
    ],
    [
      'past the last finite bound: that bound',
      0.99,
      buckets([
        [0.1, 1],
        [0.3, 2],
        [Number.POSITIVE_INFINITY, 10],
      ]),
      0.3,
    ],
    [
      'buckets in any order',
      0.5,
      buckets([
        [Number.POSITIVE_INFINITY, 8],
        [0.2, 8],
        [0.1, 4],
      ]),
      0.1,
    ],
  ] as const)('%s', (_name, q, list, expected) => {
    const got = histogramQuantile(q, list);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toBeCloseTo(expected, 9);
  });
});

describe('chartSeries', () => {
  const from = new Date('2026-12-02T10:00:00Z');
  const to = new Date('2026-12-02T10:03:00Z');
  const at = (minute: number) => new Date(from.getTime() + minute * 60_000);

  it('folds windows into steps: counts add, levels keep the highest, quantiles from the summed buckets', () => {
    const chart = chartSeries(
      [
        { windowStart: at(0), series: 'pulumi_calls', value: 3 },
        { windowStart: at(0), series: 'pulumi_429', value: 1 },
        { windowStart: at(1), series: 'pulumi_calls', value: 4 },
        { windowStart: at(1), series: 'queue_waiting', value: 7 },
        { windowStart: at(1), series: 'reconcile:success', value: 2 },
        { windowStart: at(2), series: 'reconcile:error', value: 1 },
        { windowStart: at(2), series: 'revoke_le:0.1', value: 10 },
        { windowStart: at(2), series: 'revoke_le:0.2', value: 10 },
        { windowStart: at(2), series: 'revoke_le:+Inf', value: 10 },
        // Outside the range: ignored.
        { windowStart: at(3), series: 'pulumi_calls', value: 100 },
      ],
      from,
      to,
      60_000,
    );
    expect(chart.steps).toEqual([at(0), at(1), at(2)]);
    expect(chart.pulumiCalls).toEqual([3, 4, 0]);
    expect(chart.pulumiRateLimited).toEqual([1, 0, 0]);
    expect(chart.queueWaiting).toEqual([null, 7, null]);
    expect(chart.reconciles).toEqual({ success: [0, 2, 0], error: [0, 0, 1] });
    expect(chart.revokeP50Ms[0]).toBeNull();
    expect(chart.revokeP50Ms[2]).toBeCloseTo(50, 6);
    expect(chart.revokeP99Ms[2]).toBeCloseTo(99, 6);
  });

  it('a coarser step sums the windows inside it', () => {
    const chart = chartSeries(
      [
        { windowStart: at(0), series: 'pulumi_calls', value: 3 },
        { windowStart: at(1), series: 'pulumi_calls', value: 4 },
        { windowStart: at(1), series: 'outbox_age_seconds', value: 5 },
        { windowStart: at(2), series: 'outbox_age_seconds', value: 2 },
      ],
      from,
      to,
      180_000,
    );
    expect(chart.pulumiCalls).toEqual([7]);
    expect(chart.outboxAgeSeconds).toEqual([5]);
  });

  it('windowStartOf rounds down to the minute', () => {
    expect(windowStartOf(new Date('2026-12-02T10:00:59.999Z'))).toEqual(new Date('2026-12-02T10:00:00Z'));
  });
});
