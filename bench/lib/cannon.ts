import autocannon from 'autocannon';

/** autocannon with the settings every SCIM figure uses, reduced to the numbers we report. */

export interface CannonOptions {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  /** A fresh path and body per request (unique userNames, rotating ids), and headers to override. */
  next: () => { path: string; body?: string; headers?: Record<string, string> };
  connections?: number;
  durationSec?: number;
  /** Requests per second across all connections (background load); unbounded when absent. */
  overallRate?: number;
  /** Requests to send in all, instead of running for `durationSec`. */
  amount?: number;
}

export interface CannonResult {
  /** Successful (2xx) answers per second: throttled or failed requests do not count. */
  rps: number;
  /** All answers per second, whatever their status. */
  allRps: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** How many answers had each HTTP status. */
  statuses: Record<string, number>;
}

export function cannon(options: CannonOptions): { result: Promise<CannonResult>; stop(): void } {
  let instance: autocannon.Instance | undefined;
  const result = new Promise<CannonResult>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        connections: options.connections ?? 32,
        duration: options.durationSec ?? 10,
        overallRate: options.overallRate,
        amount: options.amount,
        requests: [
          {
            method: options.method,
            headers: options.headers,
            setupRequest: (req) => {
              const { path, body, headers } = options.next();
              return { ...req, path, ...(body === undefined ? {} : { body }), ...(headers ? { headers: { ...req.headers, ...headers } } : {}) };
            },
          },
        ],
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          rps: r['2xx'] / Math.max(r.duration, 1e-9),
          allRps: r.requests.average,
          p50ms: r.latency.p50,
          p90ms: r.latency.p90,
          p99ms: r.latency.p99,
          requests: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
          statuses: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([status, stat]) => [status, stat.count ?? 0])),
        });
      },
    );
  });
  return { result, stop: () => instance?.stop() };
}
