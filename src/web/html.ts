/**
 * Server-rendered HTML with escaping by construction: every value interpolated into `html`
 * is escaped unless it is itself `Html` built by this module. No client-side script exists,
 * so the Content-Security-Policy can forbid scripts outright.
 */

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Interpolated = Html | string | number | boolean | null | undefined | readonly Interpolated[];

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface LayoutOptions {
  title: string;
  /** The signed-in person, for the navigation bar; absent on sign-in and error pages. */
  person?: { userName: string; isAdmin: boolean };
  csrfToken?: string;
  body: Html;
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;opacity:.8}
header form{margin:0}header button{background:none;border:1px solid #fff8;color:#fff;border-radius:4px;cursor:pointer}
main{max-width:1100px;margin:1.5em auto;padding:0 1.2em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.6em 0 1.4em}
th,td{border:1px solid #d9dde5;padding:.35em .6em;text-align:left;vertical-align:top}th{background:#eef0f4}
.notice{background:#fff7df;border:1px solid #e9cf7d;padding:.7em 1em;border-radius:4px}
.error{background:#fde8e8;border:1px solid #e5a0a0;padding:.7em 1em;border-radius:4px}
.secret{font-family:ui-monospace,monospace;background:#fff;border:2px dashed #1d2330;padding:.6em;word-break:break-all}
code,pre{font-family:ui-monospace,monospace}pre{background:#fff;border:1px solid #d9dde5;padding:.6em;overflow:auto}
form.inline{display:inline}label{display:block;margin:.4em 0}input,select,textarea{font:inherit}
#summary{background:#fff;border:1px solid #d9dde5;border-radius:4px;padding:.6em 1em}
.tone-ok{color:#17663a}.tone-warn{color:#8a5a00}.tone-bad{color:#b42318;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:.8em}
figure.chart{margin:0;background:#fff;border:1px solid #d9dde5;border-radius:4px;max-width:100%}
figure.chart svg{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif}
figure.chart figcaption{padding:0 .8em .5em;font-size:13px}.key{margin-right:1em;white-space:nowrap}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;border-radius:2px;vertical-align:-1px}
.chart-title{font-weight:600;font-size:12px}.chart .grid{stroke:#eceff4}.chart .x-axis line{stroke:#9aa3b2}.chart text{fill:#3b4252}
.chart .series{fill:none;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.chart .objective line{stroke:#b42318;stroke-dasharray:6 4}.chart .objective text{fill:#b42318}.chart .no-data{fill:#7a8494;font-style:italic}
path.line-1{stroke:#2f6fde}path.line-2{stroke:#17663a}path.line-3{stroke:#d08a00}path.line-4{stroke:#7b3fb8}path.line-bad{stroke:#b42318}
.swatch.line-1{background:#2f6fde}.swatch.line-2{background:#17663a}.swatch.line-3{background:#d08a00}.swatch.line-4{background:#7b3fb8}.swatch.line-bad{background:#b42318}
.plan-team{background:#fff;border:1px solid #d9dde5;border-radius:4px;padding:.4em 1em;margin:.8em 0}
.plan-team ul{margin:.3em 0;padding-left:1.2em}.op-removal{color:#b42318}.op-addition{color:#17663a}.op-change{color:#8a5a00}
.range a{margin-right:.8em}.range a.current{font-weight:600;text-decoration:none;color:inherit}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;border:1px solid #d9dde5;border-radius:4px;padding:.6em 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
`;

export function layout(options: LayoutOptions): Html {
  const { person } = options;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${options.title} — pulumi-idp-sync</title><style>${new Html(STYLE)}</style></head>
<body><header><strong><a href="/console/">pulumi-idp-sync</a></strong>
${
  person
    ? html`<a href="/console/">My teams</a><a href="/console/tokens">My tokens</a>
${
  person.isAdmin
    ? html`<a href="/console/admin/status">Sync status</a><a href="/console/admin/plan">Dry-run plan</a><a href="/console/admin/charts">Charts</a><a href="/console/admin/audit">Audit log</a><a href="/console/admin/holds">Holds</a><a href="/console/admin/scim-clients">SCIM clients</a><a href="/console/admin/queues/">Queues</a>`
    : ''
}
<span class="who">${person.userName}${person.isAdmin ? ' (admin)' : ''}</span>
<form method="post" action="/auth/logout"><input type="hidden" name="_csrf" value="${options.csrfToken ?? ''}"><button type="submit">Sign out</button></form>`
    : ''
}
</header><main><h1>${options.title}</h1>
${options.body}
</main></body></html>`;
}
