/**
 * The emulator's record of the REST calls it answered, so tests and benchmarks can assert
 * "no writes on a second reconcile" and "writes = size of the diff". Hand edits made through
 * `/_emulator/` are never recorded. Counters stay exact when old entries are dropped.
 */

export interface CallRecord {
  seq: number;
  method: string;
  /** The concrete path, e.g. `/api/orgs/acme/teams/platform`. */
  path: string;
  /** The route template, e.g. `/api/orgs/{org}/teams/{team}`; the raw path for unknown routes. */
  route: string;
  /** 0 when the connection was dropped. */
  status: number;
  write: boolean;
  /** The injected fault that shaped the answer, if any. */
  fault?: 'status' | 'rate-limit' | 'drop' | 'latency';
  /** First word of the Authorization header (`token` expected), never the credential. */
  authScheme?: string;
  accept?: string;
  contentType?: string;
  /** The W3C traceparent header the call carried, if any. */
  traceparent?: string;
  ms: number;
}

export interface CallCounters {
  total: number;
  writes: number;
  /** `METHOD route` → calls. */
  byRoute: Record<string, number>;
  /** `METHOD route` → non-GET calls. */
  writesByRoute: Record<string, number>;
  byStatus: Record<string, number>;
  /** Most requests the emulator was handling at once since the last reset. */
  maxInFlight: number;
}

export class CallLog {
  private records: CallRecord[] = [];
  private seq = 0;
  private counters: CallCounters = emptyCounters();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly limit: () => number) {}

  get entries(): readonly CallRecord[] {
    return this.records;
  }

  get total(): number {
    return this.counters.total;
  }

  get writes(): number {
    return this.counters.writes;
  }

  /** Resolves once no request is being handled, e.g. one a timed-out client left behind. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  snapshot(): CallCounters {
    return structuredClone(this.counters);
  }

  /** Marks a request as started; the returned function records it once answered. */
  begin(): (record: Omit<CallRecord, 'seq'>) => void {
    this.inFlight += 1;
    if (this.inFlight > this.counters.maxInFlight) this.counters.maxInFlight = this.inFlight;
    let done = false;
    return (record) => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      this.seq += 1;
      this.records.push({ seq: this.seq, ...record });
      const overflow = this.records.length - this.limit();
      if (overflow > 0) this.records.splice(0, overflow);
      const key = `${record.method} ${record.route}`;
      const c = this.counters;
      c.total += 1;
      c.byRoute[key] = (c.byRoute[key] ?? 0) + 1;
      c.byStatus[String(record.status)] = (c.byStatus[String(record.status)] ?? 0) + 1;
      if (record.write) {
        c.writes += 1;
        c.writesByRoute[key] = (c.writesByRoute[key] ?? 0) + 1;
      }
    };
  }

  /** Forgets entries and counters (requests still in flight keep counting toward maxInFlight). */
  reset(): void {
    this.records = [];
    this.counters = emptyCounters();
    this.counters.maxInFlight = this.inFlight;
  }
}

function emptyCounters(): CallCounters {
  return { total: 0, writes: 0, byRoute: {}, writesByRoute: {}, byStatus: {}, maxInFlight: 0 };
}
