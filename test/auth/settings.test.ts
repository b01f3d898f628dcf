import { loadConfig, ConfigError } from '../../src/config';
import { parsePemCertificates } from '../../src/auth';
import { createIdpKeys } from './test-idp';

describe('SAML settings, read with the rest of the configuration', () => {
  let certs: string[];
  beforeAll(async () => {
    certs = (await Promise.all([createIdpKeys('a'), createIdpKeys('b'), createIdpKeys('c')])).map((k) => k.cert);
  });
  const base = { PUBLIC_URL: 'https://sync.example.com/', SAML_IDP_SSO_URL: 'https://idp.example/sso', SAML_IDP_ISSUER: 'https://idp.example' };

  it('is off while SAML_IDP_SSO_URL is unset', () => {
    expect(loadConfig({}).saml).toBeUndefined();
  });

  it('derives the ACS URL and entity ID from PUBLIC_URL and requires both signatures by default', () => {
    const s = loadConfig({ ...base, SAML_IDP_CERT: certs[0]!.replace(/\n/g, '\\n') }).saml!;
    expect(s).toMatchObject({
      acsUrl: 'https://sync.example.com/auth/saml/acs',
      spEntityId: 'https://sync.example.com/auth/saml/metadata',
      allowUnsignedResponse: false,
      clockSkewMs: 30_000,
      loginAttribute: undefined,
    });
    expect(s.idpCerts).toHaveLength(1);
  });

  it('accepts two certificates for a rotation and refuses a third', () => {
    expect(parsePemCertificates(`${certs[0]}\n${certs[1]}`)).toHaveLength(2);
    expect(() => loadConfig({ ...base, SAML_IDP_CERT: certs.join('\n') })).toThrow(/at most two/);
  });

  it('names every missing variable when SAML is half-configured', () => {
    let error: unknown;
    try {
      loadConfig({ SAML_IDP_SSO_URL: 'https://idp.example/sso', SAML_IDP_CERT_FILE: '/nonexistent/idp.pem' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/SAML_IDP_ISSUER/);
    expect(problems).toMatch(/PUBLIC_URL/);
    expect(problems).toMatch(/SAML_IDP_CERT_FILE: cannot read \/nonexistent\/idp.pem: ENOENT/);
  });

  it('reads SAML_ALLOW_UNSIGNED_RESPONSE as a boolean switch', () => {
    const s = loadConfig({ ...base, SAML_IDP_CERT: certs[0]!, SAML_ALLOW_UNSIGNED_RESPONSE: 'true' }).saml!;
    expect(s.allowUnsignedResponse).toBe(true);
  });
});
