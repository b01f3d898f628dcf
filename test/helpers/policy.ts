import { parsePolicy, type Policy, PolicyError } from '../../src/policy';

/**
 * The policy of tests that need an organization and no team rules (org `acme`, the emulator's
 * demo org). `extraYaml` adds top-level sections, e.g. `tokens:` settings.
 */
export function emptyAcmePolicy(extraYaml = ''): Policy {
  return parsePolicy(`organization: acme\nteams: []\n${extraYaml}`, 'test.yaml');
}

/** The problem lines (`file:line key: message`) a policy text is refused with; throws when it is accepted. */
export function policyProblems(text: string, file: string): string[] {
  try {
    parsePolicy(text, file);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    return err.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  throw new Error('expected a PolicyError');
}
