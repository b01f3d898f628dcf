import { type Html, html } from './html';

/**
 * Line charts as inline SVG, drawn on the server: the page runs no script and fetches no image,
 * so the console's Content-Security-Policy needs nothing more (docs/console.md, "Charts"). Pure:
 * a spec in, markup out; colours come from the page's style sheet by class.
 */

export interface ChartLine {
  name: string;
  /** One value per step; null draws nothing (a gap). */
  values: ReadonlyArray<number | null>;
  /** Colour class: `line-1` … `line-4`, or `line-bad` for failures. */
  tone: 'line-1' | 'line-2' | 'line-3' | 'line-4' | 'line-bad';
}

export interface ChartSpec {
  id: string;
  title: string;
  /** Each step's start; the x axis. */
  steps: readonly Date[];
  stepMs: number;
  lines: readonly ChartLine[];
  /** Appended to the y axis labels, e.g. `ms`. */
  unit?: string;
  /** A horizontal dashed line, e.g. the 300 ms objective. */
  objective?: { value: number; label: string };
}

const WIDTH = 640;
const HEIGHT = 190;
const MARGIN = { left: 56, right: 12, top: 24, bottom: 26 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (a round top for the y axis). */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= value - 1e-9) ?? 10;
  return step * power;
}

const round = (n: number) => Math.round(n * 10) / 10;

function hhmm(at: Date): string {
  return `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
}

function axisLabel(value: number, unit: string | undefined): string {
  const text = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return unit ? `${text} ${unit}` : text;
}

/** The path of one line: a segment per run of known values; a lone value shows as a dot. */
export function linePath(values: ReadonlyArray<number | null>, x: (i: number) => number, y: (v: number) => number): string {
  const parts: string[] = [];
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      drawing = false;
      return;
    }
    const next = values[i + 1];
    const lone = !drawing && (next === null || next === undefined || !Number.isFinite(next));
    parts.push(`${drawing ? 'L' : 'M'}${round(x(i))} ${round(y(value))}${lone ? 'h0' : ''}`);
    drawing = true;
  });
  return parts.join(' ');
}

export function renderChart(spec: ChartSpec): Html {
  const known = spec.lines.flatMap((l) => l.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const top = niceCeiling(Math.max(0, ...known, spec.objective ? spec.objective.value * 1.25 : 0));
  const n = spec.steps.length;
  const x = (i: number) => MARGIN.left + (n <= 1 ? 0 : (i * PLOT_W) / (n - 1));
  const y = (v: number) => MARGIN.top + PLOT_H - (Math.min(v, top) / top) * PLOT_H;
  const ticks = [0, top / 2, top];
  const xTicks = n === 0 ? [] : [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const empty = known.length === 0;
  return html`<figure class="chart" id="${spec.id}"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="${spec.id}-title">
<title id="${spec.id}-title">${spec.title}</title>
<text class="chart-title" x="${MARGIN.left}" y="14">${spec.title}</text>
<g class="axis y-axis">${ticks.map(
    (v) =>
      html`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${round(y(v))}" y2="${round(y(v))}"></line><text x="${MARGIN.left - 6}" y="${round(y(v)) + 4}" text-anchor="end">${axisLabel(v, spec.unit)}</text>`,
  )}</g>
<g class="axis x-axis"><line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + PLOT_H}" y2="${MARGIN.top + PLOT_H}"></line>${xTicks.map(
    (i) => html`<text x="${round(x(i))}" y="${HEIGHT - 8}" text-anchor="${i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}">${hhmm(spec.steps[i]!)}</text>`,
  )}</g>
${
  spec.objective
    ? html`<g class="objective"><line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${round(y(spec.objective.value))}" y2="${round(y(spec.objective.value))}"></line><text x="${WIDTH - MARGIN.right}" y="${round(y(spec.objective.value)) - 4}" text-anchor="end">${spec.objective.label}</text></g>`
    : ''
}
${spec.lines.map((line) => html`<path class="series ${line.tone}" d="${linePath(line.values, x, y)}"><title>${line.name}</title></path>`)}
${empty ? html`<text class="no-data" x="${MARGIN.left + PLOT_W / 2}" y="${MARGIN.top + PLOT_H / 2}" text-anchor="middle">no data in this range yet</text>` : ''}
</svg><figcaption>${spec.lines.map((line) => html`<span class="key"><span class="swatch ${line.tone}"></span>${line.name}</span>`)}</figcaption></figure>`;
}
