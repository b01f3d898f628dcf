import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { letOthersTraverse } from '../../src/directory/embedded-postgres';

/**
 * As root, the embedded Postgres runs as a 'postgres' user that must reach its binaries and
 * data; a checkout under a 0700 directory (mktemp -d) blocked it with EACCES.
 */
describe('letOthersTraverse', () => {
  it('adds only search permission for others, on the directory and each one above it that lacks it', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-traverse-'));
    try {
      const middle = path.join(root, 'private');
      const leaf = path.join(middle, 'data');
      fs.mkdirSync(leaf, { recursive: true });
      fs.chmodSync(root, 0o700);
      fs.chmodSync(middle, 0o750);
      fs.chmodSync(leaf, 0o755);
      expect(letOthersTraverse(leaf)).toEqual([middle, root]);
      const mode = (p: string) => fs.statSync(p).mode & 0o7777;
      expect([mode(root), mode(middle), mode(leaf)]).toEqual([0o701, 0o751, 0o755]);
      expect(letOthersTraverse(leaf)).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
