/**
 * Dependency rules for src/ and workers/ (run: `npm run check:deps`).
 *
 * A part is a folder directly under src/. The rules below keep the house rules true:
 *   - no import cycle between modules;
 *   - a part imports another part only through that part's index.ts;
 *   - a part never imports src/runtime, src/web or src/cli (the edges); web and cli may import
 *     the other parts, runtime may import anything, src/main.ts and workers/ may import runtime;
 *   - a part imports only the parts listed for it in ALLOWED_PARTS below. The table is acyclic
 *     (checked when this file loads), so an upward import or a folder cycle fails the check.
 *
 * Adding an import to a part not in its list is a design change: extend the table in the same
 * commit, and only downward (this file refuses a table with a cycle).
 */

/** util, log, config, metrics and tracing build on nothing else, and every part may use them. */
const FOUNDATION = ['util', 'log', 'config', 'metrics', 'tracing'];

/** The parts that wire everything together; no other part may import them. */
const EDGES = ['runtime', 'web', 'cli'];

/** Part → the parts it may import (its own folder is always allowed). */
const ALLOWED_PARTS = {
  util: [],
  log: ['util'],
  config: ['util'],
  metrics: ['util'],
  tracing: [],
  directory: [...FOUNDATION],
  outbox: [...FOUNDATION, 'directory', 'queue'],
  policy: [...FOUNDATION],
  pulumi: [...FOUNDATION],
  queue: [...FOUNDATION],
  emulator: [...FOUNDATION, 'pulumi'],
  // The development SAML IdP of the zero-config start: it signs; runtime tells it whom it may list.
  'dev-idp': [...FOUNDATION],
  // The HTTP foundation: its one error table knows the domain errors every surface may meet.
  app: [...FOUNDATION, 'directory', 'pulumi', 'queue', 'reconcile', 'signals', 'tokens'],
  auth: [...FOUNDATION, 'directory'],
  scim: [...FOUNDATION, 'directory', 'outbox'],
  // reconcile asks tokens (fate.ts) what becomes of a creator-bound token; tokens never asks reconcile.
  reconcile: [...FOUNDATION, 'directory', 'outbox', 'policy', 'pulumi', 'queue', 'tokens'],
  tokens: [...FOUNDATION, 'directory', 'policy', 'pulumi', 'queue'],
  // The Shared Signals receiver: the directory, sessions and tokens reach it only through ports src/runtime builds.
  signals: [...FOUNDATION, 'policy', 'queue'],
  // A Shared Signals transmitter for the tests and the demo.
  'ssf-emulator': [...FOUNDATION],
  // The metrics history behind the console's charts: samples metrics into its table.
  history: [...FOUNDATION, 'directory'],
  // The edges: web and cli build on every part but the edges; runtime assembles everything.
  web: ['app', 'auth', 'directory', 'emulator', 'history', 'outbox', 'policy', 'pulumi', 'queue', 'reconcile', 'scim', 'signals', 'tokens', ...FOUNDATION],
  cli: ['app', 'auth', 'directory', 'emulator', 'outbox', 'policy', 'pulumi', 'queue', 'reconcile', 'scim', 'signals', 'tokens', ...FOUNDATION],
  runtime: [
    'app',
    'auth',
    'cli',
    'dev-idp',
    'directory',
    'emulator',
    'history',
    'outbox',
    'policy',
    'pulumi',
    'queue',
    'reconcile',
    'scim',
    'signals',
    'ssf-emulator',
    'tokens',
    'web',
    ...FOUNDATION,
  ],
};

/**
 * Direct imports of another part's internal file that are allowed for now. `directory/db.ts` (the
 * pool, migrations and transactions) is imported directly by many parts; its index re-exports it,
 * so these imports can move to '../directory' at any time.
 */
const INTERNAL_FILES_ALLOWED = ['^src/directory/db\\.ts$'];

/**
 * The entry points' first import, whose effect is the import itself: tracing starts before
 * anything it instruments loads (src/tracing/register.ts).
 */
const ENTRY_FILES_ALLOWED = ['^src/tracing/register\\.ts$'];

function assertAcyclic(table) {
  const state = {};
  const visit = (part, trail) => {
    if (state[part] === 'done') return;
    if (state[part] === 'visiting') throw new Error(`.dependency-cruiser.cjs: ALLOWED_PARTS has a cycle: ${[...trail, part].join(' → ')}`);
    state[part] = 'visiting';
    for (const next of table[part] ?? []) {
      if (!(next in table)) throw new Error(`.dependency-cruiser.cjs: ALLOWED_PARTS lists unknown part '${next}' for '${part}'`);
      visit(next, [...trail, part]);
    }
    state[part] = 'done';
  };
  for (const part of Object.keys(table)) visit(part, []);
}
assertAcyclic(ALLOWED_PARTS);

const anyOf = (names) => `(${names.join('|')})`;

/** One rule per part: it may import its own folder and the parts in its list, nothing else under src/. */
const layeringRules = Object.entries(ALLOWED_PARTS).map(([part, allowed]) => ({
  name: `layering-${part}`,
  severity: 'error',
  comment: `src/${part} may import only: ${allowed.length ? allowed.join(', ') : 'nothing'} (ALLOWED_PARTS in .dependency-cruiser.cjs)`,
  from: { path: `^src/${part}/` },
  to: {
    path: '^src/[^/]+/',
    // Imports of the edges are reported once, by part-imports-an-edge.
    pathNot: [`^src/${anyOf([part, ...allowed])}/`, ...(part === 'runtime' ? [] : [`^src/${anyOf(EDGES)}/`])],
  },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import each other in a cycle.',
      from: { path: '^(src|workers)/' },
      to: { circular: true },
    },
    {
      name: 'part-imports-an-edge',
      severity: 'error',
      comment: 'A part never imports src/runtime, src/web or src/cli; web and cli may not import each other or runtime.',
      from: { path: '^src/([^/]+)/', pathNot: '^src/runtime/' },
      to: { path: `^src/${anyOf(EDGES)}/`, pathNot: '^src/$1/' },
    },
    {
      name: 'not-through-index',
      severity: 'error',
      comment: "Another part is imported only through its index.ts (never '../other/internal-file').",
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', ...INTERNAL_FILES_ALLOWED] },
    },
    {
      name: 'entry-not-through-index',
      severity: 'error',
      comment: 'src/main.ts and workers/ import parts only through their index.ts.',
      from: { path: '^(src/main\\.ts$|workers/)' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/[^/]+/index\\.ts$', ...INTERNAL_FILES_ALLOWED, ...ENTRY_FILES_ALLOWED] },
    },
    {
      name: 'nothing-imports-an-entry',
      severity: 'error',
      comment: 'src/main.ts and workers/ are entry points; no part imports them.',
      from: { path: '^src/' },
      to: { path: '^(src/main\\.ts$|workers/)' },
    },
    {
      name: 'part-missing-from-table',
      severity: 'error',
      comment: 'Every folder under src/ is a part with an entry in ALLOWED_PARTS (.dependency-cruiser.cjs).',
      from: { path: `^src/(?!${anyOf(Object.keys(ALLOWED_PARTS))}/)[^/]+/` },
      to: {},
    },
    ...layeringRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a part's types are part of its surface.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
