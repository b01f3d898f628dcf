import { PassThrough } from 'node:stream';
import { createLogger, warnAtMostEvery } from '../../src/log';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk) => lines.push(...String(chunk).split('\n').filter(Boolean)));
  return { logger: createLogger({ stream }), lines };
}

describe('log redaction', () => {
  it('filters secrets and personal data at any depth', async () => {
    const { logger, lines } = capture();
    logger.info('scim request', {
      requestId: 'r-1',
      headers: { authorization: 'Bearer s3cret-token' },
      user: { userName: 'alice@example.com', emails: [{ value: 'alice@example.com' }] },
      body: { password: 'hunter2' },
      tokenValue: 'pul-123',
    });
    await new Promise((r) => setImmediate(r));
    const out = lines.join('\n');
    expect(out).toContain('r-1');
    for (const secret of ['s3cret-token', 'alice@example.com', 'hunter2', 'pul-123']) {
      expect(out).not.toContain(secret);
    }
  });

  it('keeps error names and messages', async () => {
    const { logger, lines } = capture();
    logger.error('failed', { err: new Error('connection refused') });
    await new Promise((r) => setImmediate(r));
    expect(lines.join('\n')).toContain('connection refused');
  });
});

describe('log levels', () => {
  it('drops a message below the level before any formatting, and writes the ones at or above it', async () => {
    const { logger, lines } = capture();
    let reads = 0;
    // Object.assign copies meta shallowly, so only a format walking the message reaches `field`.
    const meta = (n: number) => ({
      requestId: `r-${n}`,
      detail: {
        get field() {
          reads++;
          return 'x';
        },
      },
    });
    for (let i = 0; i < 3; i++) logger.http('scim request', meta(i));
    logger.debug('debug line', meta(3));
    logger.info('info line', meta(4));
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(1);
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['info line']);
  });
});

describe('warnAtMostEvery', () => {
  it('warns the first time, then at most once per interval with the count held back, debug in between', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk) => lines.push(...String(chunk).split('\n').filter(Boolean)));
    const logger = createLogger({ stream, level: 'debug' });
    const warn = warnAtMostEvery(logger, 50);
    for (let i = 0; i < 4; i++) warn('redis connection error', { err: 'ECONNREFUSED' });
    await new Promise((r) => setTimeout(r, 60));
    warn('redis connection error', { err: 'ECONNREFUSED' });
    await new Promise((r) => setImmediate(r));
    const entries = lines.map((l) => JSON.parse(l) as { level: string; repeatedSinceLastWarning?: number });
    expect(entries.map((e) => e.level)).toEqual(['warn', 'debug', 'debug', 'debug', 'warn']);
    expect(entries[0].repeatedSinceLastWarning).toBeUndefined();
    expect(entries[4].repeatedSinceLastWarning).toBe(3);
  });
});
