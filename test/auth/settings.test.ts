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
      userIdAttribute: undefined,
      nameIdMatch: 'externalId',
      allowEmailNameId: false,
      adminGroup: undefined,
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

  const withCert = () => ({ ...base, SAML_IDP_CERT: certs[0]! });
  const problemsOf = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };

  it('reads SAML_ADMIN_GROUP as an IdP group id after externalId:, else as a displayName', () => {
    expect(loadConfig({ ...withCert(), SAML_ADMIN_GROUP: 'externalId:0f3c-Admins' }).saml!.adminGroup).toEqual({ externalId: '0f3c-Admins' });
    expect(loadConfig({ ...withCert(), SAML_ADMIN_GROUP: 'Pulumi Admins' }).saml!.adminGroup).toEqual({ displayName: 'Pulumi Admins' });
    expect(problemsOf({ ...withCert(), SAML_ADMIN_GROUP: 'externalId: ' })).toMatch(/^SAML_ADMIN_GROUP: /);
  });

  it('reads how the person is identified, naming the variable when a value is bad', () => {
    const s = loadConfig({ ...withCert(), SAML_USER_ID_ATTRIBUTE: 'userId', SAML_NAMEID_MATCH: 'userName', SAML_ALLOW_EMAIL_NAMEID: 'true' }).saml!;
    expect(s).toMatchObject({ userIdAttribute: 'userId', nameIdMatch: 'userName', allowEmailNameId: true });
    expect(problemsOf({ ...withCert(), SAML_NAMEID_MATCH: 'email' })).toMatch(/^SAML_NAMEID_MATCH: /);
    expect(problemsOf({ ...withCert(), SAML_ALLOW_EMAIL_NAMEID: 'yes' })).toMatch(/^SAML_ALLOW_EMAIL_NAMEID: /);
    expect(problemsOf({ ...withCert(), SAML_USER_ID_ATTRIBUTE: 'userId', SAML_LOGIN_ATTRIBUTE: 'login' })).toMatch(
      /^SAML_USER_ID_ATTRIBUTE \/ SAML_LOGIN_ATTRIBUTE: /,
    );
  });
});
