import { deflateRawSync } from 'node:zlib';
import { authnRequestId } from '../../src/dev-idp';

/** The development IdP reads the one thing it needs from an AuthnRequest, and nothing from anything else. */

const encode = (xml: string) => deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64');

describe('authnRequestId', () => {
  it.each([
    ['a node-saml AuthnRequest', '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_abc123" Version="2.0"/>', '_abc123'],
    ['no prefix', '<AuthnRequest Version="2.0" ID="_x.y-z"/>', '_x.y-z'],
    ['another element', '<samlp:LogoutRequest ID="_abc"/>', undefined],
    ['an ID that is no NCName', '<samlp:AuthnRequest ID="1&quot;><b>"/>', undefined],
    ['no ID', '<samlp:AuthnRequest Version="2.0"/>', undefined],
  ])('%s', (_case, xml, expected) => {
    expect(authnRequestId(encode(xml))).toBe(expected);
  });

  it.each([
    ['absent', undefined],
    ['not base64 deflate', 'not-a-request'],
    ['repeated', ['a', 'b']],
    ['too long', 'A'.repeat(10_000)],
  ])('%s: none', (_case, value) => {
    expect(authnRequestId(value)).toBeUndefined();
  });
});
