import fs from 'node:fs';
import path from 'node:path';

/**
 * Dependency guard (docs/robustness.md, "Library versions"): the SAML stack resolves versions at or above
 * the fixes for CVE-2025-54419 / -54369 (node-saml 5.1.0), CVE-2025-29774 / -29775 (xml-crypto
 * 6.1.2 line) and the xmldom doctype bypass (0.8.15). Read from node_modules as Node resolves
 * them *from the package that uses them*, not from the top level.
 */

function versionFrom(name: string, fromDir: string): { version: string; dir: string } {
  const file = require.resolve(`${name}/package.json`, { paths: [fromDir] });
  return { version: (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version, dir: path.dirname(file) };
}

function atLeast(version: string, minimum: string): boolean {
  const a = version.split(/[.-]/).slice(0, 3).map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  return true;
}

const root = path.resolve(__dirname, '../..');

describe('SAML dependency versions', () => {
  const passportSaml = versionFrom('@node-saml/passport-saml', root);
  const nodeSaml = versionFrom('@node-saml/node-saml', passportSaml.dir);
  const xmlCrypto = versionFrom('xml-crypto', nodeSaml.dir);
  const xmldomOfNodeSaml = versionFrom('@xmldom/xmldom', nodeSaml.dir);
  const xmldomOfXmlCrypto = versionFrom('@xmldom/xmldom', xmlCrypto.dir);

  it.each([
    ['@node-saml/passport-saml', passportSaml.version, '5.1.1'],
    ['@node-saml/node-saml (as passport-saml resolves it)', nodeSaml.version, '5.1.0'],
    ['xml-crypto (as node-saml resolves it)', xmlCrypto.version, '6.1.2'],
    ['@xmldom/xmldom (as node-saml resolves it)', xmldomOfNodeSaml.version, '0.8.15'],
    ['@xmldom/xmldom (as xml-crypto resolves it)', xmldomOfXmlCrypto.version, '0.8.15'],
  ])('%s is %s, at least %s', (_name, version, minimum) => {
    expect(atLeast(version, minimum)).toBe(true);
  });

  it('installs neither the deprecated unscoped passport-saml nor node-saml', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const unscoped = Object.keys(lock.packages).filter((p) => /(^|\/)node_modules\/(passport-saml|node-saml)$/.test(p));
    expect(unscoped).toEqual([]);
  });
});
