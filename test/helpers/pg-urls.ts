export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The migrated template of this jest run; per run, so concurrent runs never share one. */
export function templateDatabase(): string {
  const name = process.env.TEST_PG_TEMPLATE;
  if (!name) throw new Error('TEST_PG_TEMPLATE unset: run tests through jest (global-setup)');
  return name;
}
