/** The daemon's own view of a latency: count and mean of a seconds histogram on its `/metrics`; undefined when the endpoint does not answer. */
export async function readHistogram(daemonUrl: string, metric: string): Promise<{ count: number; meanMs: number } | undefined> {
  const res = await fetch(`${daemonUrl}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const text = await res.text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const count = value(`${metric}_count`);
  return { count, meanMs: count > 0 ? (value(`${metric}_sum`) / count) * 1000 : Number.NaN };
}
