import { parsePolicy, type Policy } from '../../src/policy';

/**
 * The policy of tests that need an organization and no team rules (org `acme`, the emulator's
 * demo org). `extraYaml` adds top-level sections, e.g. `tokens:` settings.
 */
export function emptyAcmePolicy(extraYaml = ''): Policy {
  return parsePolicy(`organization: acme\nteams: []\n${extraYaml}`, 'test.yaml');
}
