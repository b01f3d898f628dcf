import { createHash, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DeliveryMode } from './events';

/**
 * The one stream this receiver has with its transmitter, as created or adopted, kept in Redis at
 * `<prefix>ssf:stream` so every replica (and the CLI) reads the same: the stream's `aud`, how
 * SETs arrive, the digest of the authorization header the transmitter was told to send with
 * pushes, and the last verification asked for and whether its event came back.
 */

export interface StreamVerification {
  state: string;
  requestedAt: string;
  receivedAt?: string;
}

export interface StreamRecord {
  streamId: string;
  /** The stream's `aud`: what SETs must carry unless SSF_AUDIENCE says otherwise. */
  audience: string[];
  delivery: DeliveryMode;
  /** Push: this receiver's URL. Poll: the transmitter's URL to poll. */
  endpointUrl: string;
  /** SHA-256 (hex) of the Authorization header value pushes must carry; null when none was set. */
  authorizationDigest: string | null;
  eventsRequested: string[];
  eventsDelivered: string[];
  createdAt: string;
  verification?: StreamVerification;
}

export const digestHex = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/** Constant-time check of a presented Authorization header against the stored digest. */
export function authorizationMatches(record: Pick<StreamRecord, 'authorizationDigest'>, presented: string | undefined): boolean {
  if (record.authorizationDigest === null) return true;
  if (presented === undefined) return false;
  return timingSafeEqual(Buffer.from(digestHex(presented), 'hex'), Buffer.from(record.authorizationDigest, 'hex'));
}

export class StreamStore {
  private readonly key: string;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = `${prefix}ssf:stream`;
  }

  async get(): Promise<StreamRecord | undefined> {
    const raw = await this.redis.get(this.key);
    return raw ? (JSON.parse(raw) as StreamRecord) : undefined;
  }

  async put(record: StreamRecord): Promise<void> {
    await this.redis.set(this.key, JSON.stringify(record));
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }

  /** A verification event arrived: true when it carries the state last asked for. */
  async verificationReceived(state: unknown, at: Date): Promise<boolean> {
    const record = await this.get();
    if (!record?.verification || typeof state !== 'string' || record.verification.state !== state) return false;
    await this.put({ ...record, verification: { ...record.verification, receivedAt: at.toISOString() } });
    return true;
  }
}
