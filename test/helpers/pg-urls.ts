export const TEMPLATE_DB = 'pis_test_template';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The URL as given: the admin connection creates and drops the per-file databases. */
export function adminUrlFor(url: string): string {
  return url;
}
