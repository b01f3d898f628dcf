import { z } from 'zod';

/**
 * Injected faults, matched per request on method and path (a glob: `*` is one path segment,
 * `**` any number). Latency faults add delay and let the request proceed; `status`,
 * `rate-limit` and `drop` faults replace the answer. `rate` fires a fault on that fraction of
 * matching requests; `times` bounds how often it fires at all (deterministic tests use
 * `rate: 1, times: n`).
 */

export const faultSchema = z.object({
  method: z.string().toUpperCase().default('*'),
  path: z.string().min(1),
  kind: z.enum(['status', 'rate-limit', 'latency', 'drop']),
  /** `status` faults: the status to answer. @defaultValue 500 */
  status: z.number().int().min(400).max(599).default(500),
  /** `status` faults: a JSON error body (the service's shape) or plain text. */
  body: z.enum(['json', 'text']).default('json'),
  /** `rate-limit` faults: Retry-After value; no header when absent. */
  retryAfterSeconds: z.number().int().min(0).optional(),
  /** `rate-limit` faults: delta-seconds or an HTTP-date that far ahead. */
  retryAfterFormat: z.enum(['seconds', 'http-date']).default('seconds'),
  latencyMs: z.number().int().min(0).default(0),
  rate: z.number().min(0).max(1).default(1),
  times: z.number().int().positive().optional(),
});

export type FaultSpec = z.input<typeof faultSchema>;
export type Fault = z.output<typeof faultSchema> & { id: string; fired: number };

export class FaultSet {
  private readonly faults: Fault[] = [];
  private nextId = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** Adds a fault; throws a ZodError for a bad spec. Returns its id. */
  add(spec: FaultSpec): string {
    const parsed = faultSchema.parse(spec);
    this.nextId += 1;
    const id = `fault-${this.nextId}`;
    this.faults.push({ ...parsed, id, fired: 0 });
    return id;
  }

  remove(id: string): boolean {
    const index = this.faults.findIndex((f) => f.id === id);
    if (index < 0) return false;
    this.faults.splice(index, 1);
    return true;
  }

  clear(): void {
    this.faults.length = 0;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Faults that fire for this request, consuming their `times` budget. */
  draw(method: string, path: string): Fault[] {
    const fired: Fault[] = [];
    for (const fault of this.faults) {
      if (fault.method !== '*' && fault.method !== method) continue;
      if (!globToRegExp(fault.path).test(path)) continue;
      if (fault.times !== undefined && fault.fired >= fault.times) continue;
      if (fault.rate < 1 && this.random() >= fault.rate) continue;
      fault.fired += 1;
      fired.push({ ...fault });
    }
    return fired;
  }
}

function globToRegExp(glob: string): RegExp {
  const source = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}
