import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The repository root, found from this file whether it runs from test/helpers/stack (ts) or
 * dist/test/helpers/stack (compiled): the nearest directory whose package.json is the daemon's.
 */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'pulumi-idp-sync') {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the pulumi-idp-sync repository root');
    dir = parent;
  }
}

/** Compiled entry points the benchmarks and chaos tests run as child processes. */
export type DistEntry =
  | 'src/main.js'
  | 'workers/main.js'
  | 'src/emulator/main.js'
  | 'bench/lib/peer-server.js'
  | 'bench/lib/limit-server.js'
  | 'test/helpers/stack/private-postgres.js';

export function distEntry(relative: DistEntry): string {
  return path.join(repoRoot(), 'dist', relative);
}

/**
 * How to run an entry: compiled (`node dist/…js`, benchmarks, after `npm run build`) or from
 * source through the transpile-on-load hook (tests, which run without a build step).
 */
export function entryCommand(relative: DistEntry, mode: 'dist' | 'source'): string[] {
  if (mode === 'dist') return [distEntry(relative)];
  return ['-r', path.join(repoRoot(), 'test', 'helpers', 'stack', 'register-ts.cjs'), path.join(repoRoot(), relative.replace(/\.js$/, '.ts'))];
}
