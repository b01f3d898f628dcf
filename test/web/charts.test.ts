import { chartSeries } from '../../src/history';
import { linePath, niceCeiling, renderChart } from '../../src/web/charts';
import { renderCharts, REVOKE_OBJECTIVE_MS } from '../../src/web/charts-page';

/** The console's charts: inline SVG, pure, drawn from the history's steps. */

const steps = [0, 1, 2, 3].map((m) => new Date(Date.UTC(2026, 11, 2, 10, m)));

describe('niceCeiling', () => {
  it.each([
    [0, 1],
    [0.7, 1],
    [3, 5],
    [375, 500],
    [1200, 2000],
    [2400, 2500],
  ])('%s → %s', (value, expected) => expect(niceCeiling(value)).toBe(expected));
});

describe('linePath', () => {
  const x = (i: number) => i * 10;
  const y = (v: number) => 100 - v;
  it.each([
    ['a run of values', [1, 2, 3], 'M0 99 L10 98 L20 97'],
    ['a gap splits the line', [1, null, 3, 4], 'M0 99h0 M20 97 L30 96'],
    ['a lone value is a dot', [null, 5, null], 'M10 95h0'],
    ['nothing known', [null, null], ''],
  ] as const)('%s', (_name, values, expected) => {
    expect(linePath(values, x, y)).toBe(expected);
  });
});

describe('renderChart', () => {
  const svg = renderChart({
    id: 'c1',
    title: 'Latency <p99> & "friends"',
    steps,
    stepMs: 60_000,
    unit: 'ms',
    objective: { value: 300, label: 'objective 300 ms' },
    lines: [{ name: '<script>alert(1)</script>', values: [100, 200, null, 800], tone: 'line-1' }],
  }).text;

  it('has a title, both axes with labels, a legend and one path per line', () => {
    expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(svg).toContain('<title id="c1-title">Latency &lt;p99&gt; &amp; &quot;friends&quot;</title>');
    expect(svg.match(/class="axis y-axis"/g)).toHaveLength(1);
    expect(svg.match(/class="axis x-axis"/g)).toHaveLength(1);
    // y: 0, half and the top (800 rounds up to 1000); x: first, middle and last step in UTC.
    for (const label of ['0 ms', '500 ms', '1000 ms', '10:00', '10:01', '10:03']) expect(svg).toContain(`>${label}</text>`);
    expect(svg.match(/<path class="series line-1"/g)).toHaveLength(1);
  });

  it('draws the objective as its own dashed line at its value', () => {
    expect(svg).toMatch(/<g class="objective"><line [^>]*y1="(\d+(\.\d)?)" y2="\1"><\/line><text[^>]*>objective 300 ms<\/text><\/g>/);
  });

  it('escapes every name it is given', () => {
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('says so when the range holds no data', () => {
    const empty = renderChart({
      id: 'c2',
      title: 'Empty',
      steps,
      stepMs: 60_000,
      lines: [{ name: 'x', values: [null, null, null, null], tone: 'line-1' }],
    }).text;
    expect(empty).toContain('no data in this range yet');
    expect(empty).toContain('>1</text>');
  });
});

describe('renderCharts', () => {
  it('draws the five charts, the latency one against the 300 ms objective', () => {
    const chart = chartSeries([{ windowStart: steps[1]!, series: 'reconcile:terminal', value: 1 }], steps[0]!, new Date(steps[3]!.getTime() + 60_000), 60_000);
    const page = renderCharts(chart).text;
    for (const id of ['chart-revoke', 'chart-queue', 'chart-outbox-age', 'chart-reconciles', 'chart-pulumi']) expect(page).toContain(`id="${id}"`);
    expect(page).toContain(`objective p99 ≤ ${REVOKE_OBJECTIVE_MS} ms`);
    // A terminal reconcile is drawn in the failure colour.
    expect(page).toContain('<path class="series line-bad"');
  });
});
