import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Which build this process runs, for `idp_sync_build_info`: the version of the package.json
 * nearest above this file (the repository root, or /app in the image) and the source commit
 * the image was built from, when its build set GIT_COMMIT.
 */
export function readBuildInfo(env: NodeJS.ProcessEnv = process.env): { version: string; commit: string | undefined } {
  const commit = env.GIT_COMMIT?.trim() || undefined;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'pulumi-idp-sync' && manifest.version) return { version: manifest.version, commit };
    } catch {
      // no package.json here: look further up
    }
    if (path.dirname(dir) === dir) return { version: 'unknown', commit };
  }
}
