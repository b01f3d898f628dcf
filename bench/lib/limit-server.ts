import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The machine's limit: a bare node:http server answering every request with one fixed SCIM
 * ListResponse (the size of a one-user lookup answer), no parsing, no database. Whatever a
 * real SCIM server reaches is a fraction of this. Prints `{port}` when ready.
 */

const BODY = JSON.stringify({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: 1,
  startIndex: 1,
  itemsPerPage: 1,
  Resources: [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: '6f1c1c9e-8f7e-4e0b-9a55-2b1d1f7c0a11',
      externalId: '00u00000000000000001',
      userName: 'user1@example.test',
      name: { givenName: 'Given1', familyName: 'Family1' },
      displayName: 'Given1 Family1',
      emails: [{ value: 'user1@example.test', primary: true, type: 'work' }],
      active: true,
      meta: { resourceType: 'User', created: '2026-11-28T00:00:00.000Z', lastModified: '2026-11-28T00:00:00.000Z', version: 'W/"1"' },
    },
  ],
});

if (require.main === module) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(BODY) }).end(BODY);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
