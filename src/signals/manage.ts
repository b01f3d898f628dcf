import { randomBytes } from 'node:crypto';
import { DELIVERY_METHOD, type DeliveryMode, EVENTS_REQUESTED } from './events';
import { digestHex, type StreamRecord, type StreamStore } from './store';
import { type StreamConfiguration, type TransmitterClient, TransmitterError } from './transmitter';

/**
 * Stream management as a receiver (SSF 1.0 §8.1): create the stream (or adopt the one the
 * transmitter already holds for this client: Okta allows one per client and answers 409), read
 * it with its status, ask for a verification event and wait for it to come back, delete it.
 * The admin API and the CLI both call these.
 */

export interface CreateStreamRequest {
  delivery: DeliveryMode;
  /** Event type URIs; every event the policy can act on when absent. */
  eventsRequested?: string[];
  /** Push: where the transmitter sends SETs. @defaultValue `${PUBLIC_URL}/ssf/events` */
  endpointUrl?: string;
}

export interface StreamView {
  streamId: string;
  delivery: DeliveryMode;
  endpointUrl: string;
  audience: string[];
  eventsRequested: string[];
  eventsDelivered: string[];
  createdAt: string;
  /** Whether pushes must carry the Authorization header given at creation. */
  authorizationRequired: boolean;
  verification: StreamRecord['verification'] | null;
}

export interface VerificationOutcome {
  state: string;
  received: boolean;
  /** From the request to the verification event's arrival. */
  roundTripMs: number | null;
}

export class StreamNotConfiguredError extends Error {
  override readonly name = 'StreamNotConfiguredError';
  constructor() {
    super('no stream: create one first (POST /api/v1/ssf/stream, or `ssf stream create`)');
  }
}

export function viewOf(record: StreamRecord): StreamView {
  const { authorizationDigest, verification, ...rest } = record;
  return { ...rest, authorizationRequired: authorizationDigest !== null, verification: verification ?? null };
}

const modeOf = (method: string): DeliveryMode => (method === DELIVERY_METHOD.poll ? 'poll' : 'push');
const audienceOf = (aud: StreamConfiguration['aud']): string[] => (Array.isArray(aud) ? aud : typeof aud === 'string' ? [aud] : []);

export class StreamManager {
  constructor(
    private readonly transmitter: TransmitterClient,
    private readonly store: StreamStore,
    /** `${PUBLIC_URL}/ssf/events`; undefined when PUBLIC_URL is unset (push then needs an endpointUrl). */
    private readonly receiverUrl: string | undefined,
  ) {}

  async create(request: CreateStreamRequest): Promise<{ stream: StreamView; adopted: boolean }> {
    const endpointUrl = request.endpointUrl ?? this.receiverUrl;
    if (request.delivery === 'push' && !endpointUrl)
      throw new TransmitterError('push delivery needs PUBLIC_URL (or an endpointUrl) for the transmitter to reach');
    const authorization = `Bearer ${randomBytes(32).toString('base64url')}`;
    const delivery =
      request.delivery === 'push'
        ? { method: DELIVERY_METHOD.push, endpoint_url: endpointUrl, authorization_header: authorization }
        : { method: DELIVERY_METHOD.poll };
    let stream: StreamConfiguration;
    let adopted = false;
    try {
      stream = await this.transmitter.createStream({
        delivery,
        events_requested: request.eventsRequested ?? [...EVENTS_REQUESTED],
        description: 'pulumi-idp-sync',
      });
    } catch (err) {
      if (!(err instanceof TransmitterError) || err.status !== 409) throw err;
      // One stream per client: take over the one the transmitter already has.
      const [existing] = await this.transmitter.readStreams();
      if (!existing) throw err;
      stream = existing;
      adopted = true;
    }
    const mode = modeOf(stream.delivery.method);
    const record: StreamRecord = {
      streamId: stream.stream_id,
      audience: audienceOf(stream.aud),
      delivery: mode,
      endpointUrl: stream.delivery.endpoint_url ?? endpointUrl ?? '',
      // An adopted stream's header is not known here; pushes on it are checked by signature alone.
      authorizationDigest: mode === 'push' && !adopted ? digestHex(authorization) : null,
      eventsRequested: stream.events_requested ?? request.eventsRequested ?? [...EVENTS_REQUESTED],
      eventsDelivered: stream.events_delivered ?? [],
      createdAt: new Date().toISOString(),
    };
    await this.store.put(record);
    return { stream: viewOf(record), adopted };
  }

  private async record(): Promise<StreamRecord> {
    const record = await this.store.get();
    if (!record) throw new StreamNotConfiguredError();
    return record;
  }

  async show(): Promise<{ stream: StreamView; status: string | null; statusReason: string | null }> {
    const record = await this.record();
    const status = await this.transmitter.status(record.streamId);
    return { stream: viewOf(record), status: status.status ?? null, statusReason: status.reason ?? null };
  }

  /**
   * Asks for a verification event (SSF 1.0 §8.1.4) and waits up to `waitMs` for the receiver (this
   * process or another replica, through the store) to record it.
   */
  async verify(waitMs = 10_000): Promise<VerificationOutcome> {
    const record = await this.record();
    const state = randomBytes(16).toString('base64url');
    const requestedAt = new Date();
    await this.store.put({ ...record, verification: { state, requestedAt: requestedAt.toISOString() } });
    await this.transmitter.requestVerification(record.streamId, state);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const received = (await this.store.get())?.verification;
      if (received?.state === state && received.receivedAt) {
        return { state, received: true, roundTripMs: Date.parse(received.receivedAt) - requestedAt.getTime() };
      }
      if (Date.now() >= deadline) return { state, received: false, roundTripMs: null };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async delete(): Promise<{ streamId: string }> {
    const record = await this.record();
    try {
      await this.transmitter.deleteStream(record.streamId);
    } catch (err) {
      // Already gone at the transmitter: forgetting it here is all that is left.
      if (!(err instanceof TransmitterError) || err.status !== 404) throw err;
    }
    await this.store.clear();
    return { streamId: record.streamId };
  }
}
