import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { registry } from '../../src/metrics';

/**
 * The operations kit in deploy/ and docker-compose.yml (docs/operations.md), checked without a
 * cluster. `helm` cannot be installed from the registries this project reaches, so the chart's
 * templates are read as YAML with their template actions blanked out (no template is rendered):
 * that is enough to check the restricted Pod Security fields, probes, ports and the
 * public/internal split, which the templates spell out literally. `docker compose config` runs
 * where the tool is installed (.ci/run installs Debian's docker-compose); REQUIRE_COMPOSE_CHECK=1
 * makes its absence a failure instead of a skip.
 */

const ROOT = path.join(__dirname, '..', '..');
const CHART = path.join(ROOT, 'deploy', 'helm', 'pulumi-idp-sync');
const read = (...parts: string[]) => readFileSync(path.join(ROOT, ...parts), 'utf8');

/** A parsed manifest, checked field by field below. */
type Manifest = any;

/**
 * A template as static YAML: lines holding only template actions go, inline actions become the
 * word TEMPLATE. Both branches of an `if` stay, so the templates avoid branches that set one key twice.
 */
function staticManifests(file: string): Manifest[] {
  const text = readFileSync(path.join(CHART, 'templates', file), 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(\{\{-?[^}]*-?\}\}\s*)+$/.test(line))
    .map((line) => line.replace(/\{\{-?[^}]*?-?\}\}/g, 'TEMPLATE'))
    .join('\n');
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      return doc.toJS();
    })
    .filter((m) => m !== null);
}

const manifests = readdirSync(path.join(CHART, 'templates'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => staticManifests(f).map((m: Manifest) => ({ file: f, ...m })));
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const deployment = (component: string) => ofKind('Deployment').find((d) => d.metadata.name.endsWith(`-${component}`));

describe('Helm chart', () => {
  it('has the objects of the topology', () => {
    expect(
      ofKind('Deployment')
        .map((d) => d.file)
        .sort(),
    ).toEqual(['daemon.yaml', 'workers.yaml']);
    expect(ofKind('Service')).toHaveLength(3);
    expect(ofKind('Ingress')).toHaveLength(2);
    expect(ofKind('PodDisruptionBudget')).toHaveLength(1); // one document in a range over daemon and workers
    expect(ofKind('ServiceMonitor')).toHaveLength(1);
  });

  it.each(['daemon', 'workers'])('runs the %s under Pod Security "restricted"', (component) => {
    const pod = deployment(component).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers.length).toBeGreaterThan(0);
    for (const container of pod.containers) {
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('probes the daemon: liveness /healthz on http, readiness /readyz on the internal port when there is one', () => {
    const [container] = deployment('daemon').spec.template.spec.containers;
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080 },
      { name: 'internal', containerPort: 'TEMPLATE' },
    ]);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'PORT', value: '8080' },
        { name: 'INTERNAL_PORT', value: 'TEMPLATE' },
        { name: 'RUN_WORKERS', value: 'false' },
      ]),
    );
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(read('deploy', 'helm', 'pulumi-idp-sync', 'templates', 'daemon.yaml')).toContain('port: {{ include "pis.daemonProbePort" . }}');
    expect(read('deploy', 'helm', 'pulumi-idp-sync', 'templates', '_helpers.tpl')).toContain(
      '{{- if .Values.daemon.internalPort -}}internal{{- else -}}http{{- end -}}',
    );
  });

  it('probes the workers on METRICS_PORT', () => {
    const [container] = deployment('workers').spec.template.spec.containers;
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'METRICS_PORT', value: 'TEMPLATE' }]));
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 'TEMPLATE' }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  });

  it('routes only SCIM, sign-in and console publicly, and the admin API and queue dashboard internally', () => {
    const paths = (ingress: Manifest) =>
      ingress.spec.rules.flatMap((r: Manifest) => r.http.paths.map((p: Manifest) => `${p.path} → ${p.backend.service.port.name}`));
    const [publicIngress, internalIngress] = ofKind('Ingress');
    expect(paths(publicIngress)).toEqual(['/scim/v2 → http', '/auth → http', '/console → http']);
    expect(paths(internalIngress)).toEqual(['/api/v1 → internal', '/console/admin/queues → internal']);
  });

  it('scrapes every process: the daemon on its internal port, each worker on its metrics port', () => {
    const endpoints = ofKind('ServiceMonitor')[0].spec.endpoints.map((e: Manifest) => `${e.port} ${e.path}`);
    expect(endpoints).toEqual(['TEMPLATE /metrics', 'metrics /metrics']);
    const workers = ofKind('Service').find((s) => s.metadata.name.endsWith('-workers'));
    expect(workers.spec.clusterIP).toBe('None');
  });

  it('has values that its values.schema.json describes', () => {
    const values = parse(read('deploy', 'helm', 'pulumi-idp-sync', 'values.yaml')) as Record<string, Record<string, unknown>>;
    const schema = JSON.parse(read('deploy', 'helm', 'pulumi-idp-sync', 'values.schema.json')) as {
      properties: Record<string, { properties?: Record<string, unknown>; $ref?: string }>;
      definitions: Record<string, { properties?: Record<string, unknown> }>;
      required: string[];
    };
    for (const key of schema.required) expect(values).toHaveProperty(key);
    for (const [key, value] of Object.entries(values)) {
      const property = schema.properties[key];
      expect({ key, described: property !== undefined }).toEqual({ key, described: true });
      const described = property.$ref ? schema.definitions[property.$ref.split('/').pop() ?? '']?.properties : property.properties;
      if (described && value && typeof value === 'object' && !Array.isArray(value)) {
        for (const inner of Object.keys(value)) expect({ key, inner, described: inner in described }).toEqual({ key, inner, described: true });
      }
    }
    expect(values.daemon.internalPort).toBe(9090);
    expect(values.workers.metricsPort).toBe(9464);
  });
});

describe('Compose', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Manifest> };

  it('gives every service a healthcheck on its own port', () => {
    for (const [name, service] of Object.entries(compose.services))
      expect({ name, healthcheck: Boolean(service.healthcheck) }).toEqual({ name, healthcheck: true });
    const test = (name: string) => compose.services[name].healthcheck.test.join(' ');
    expect(compose.services.daemon.environment.INTERNAL_PORT).toBe('9090');
    expect(test('daemon')).toContain('127.0.0.1:9090/readyz');
    expect(compose.services.worker.environment.METRICS_PORT).toBe('9464');
    expect(test('worker')).toContain('127.0.0.1:9464/readyz');
    expect(compose.services.emulator.environment.EMULATOR_PORT).toBe('8090');
    expect(test('emulator')).toContain('127.0.0.1:8090/');
  });

  it('passes PUBLIC_URL and the SAML variables through', () => {
    const env = compose.services.daemon.environment as Record<string, string>;
    for (const name of ['PUBLIC_URL', 'SAML_IDP_SSO_URL', 'SAML_IDP_ISSUER', 'SAML_IDP_CERT', 'SAML_ADMIN_GROUP', 'HTTPS_PROXY', 'NO_PROXY']) {
      expect({ name, value: env[name] }).toEqual({ name, value: `\${${name}:-}` });
    }
  });

  const composeTool = ['docker-compose', 'docker'].find((tool) => spawnSync(tool, tool === 'docker' ? ['compose', 'version'] : ['version']).status === 0);
  const withTool = composeTool || process.env.REQUIRE_COMPOSE_CHECK === '1' ? it : it.skip;
  withTool('is valid for `docker compose config`, with the demo profile too', () => {
    if (!composeTool) throw new Error('REQUIRE_COMPOSE_CHECK=1 but neither docker-compose nor `docker compose` is installed');
    const args = [...(composeTool === 'docker' ? ['compose'] : []), '--profile', 'demo', 'config', '--quiet'];
    const run = spawnSync(composeTool, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', SCIM_BEARER_TOKEN: 'scim-token-0123456789', ADMIN_API_TOKEN: 'admin-token-0123456789' },
      encoding: 'utf8',
    });
    expect({ status: run.status, stderr: run.stderr.trim() }).toEqual({ status: 0, stderr: '' });
  });
});

describe('dashboard and alerts', () => {
  // Every series name the daemon and workers can expose: histograms as their three series.
  const exposed = new Set(
    registry.getMetricsAsArray().flatMap((m) => {
      const { name, type } = m as unknown as { name: string; type: string };
      return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`, name] : [name];
    }),
  );
  const namesIn = (text: string) => [...new Set(text.match(/\bidp_sync_[a-z0-9_]+\b/g) ?? [])];

  const dashboard = JSON.parse(read('deploy', 'grafana', 'pulumi-idp-sync.json')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const rulesFile = parse(read('deploy', 'prometheus', 'pulumi-idp-sync-rules.yaml')) as {
    spec: { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: { runbook: string } }> }> };
  };
  const rules = rulesFile.spec.groups.flatMap((g) => g.rules);

  it.each([
    ['the dashboard', exprs.join('\n')],
    ['the alerts', rules.map((r) => r.expr).join('\n')],
    ['docs/operations.md', read('docs', 'operations.md')],
  ])('%s names only metrics src/metrics exposes', (_what, text) => {
    const names = namesIn(text);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('shows what operators watch', () => {
    for (const name of [
      'idp_sync_scim_requests_total',
      'idp_sync_outbox_oldest_age_seconds',
      'idp_sync_queue_jobs',
      'idp_sync_reconciles_total',
      'idp_sync_pulumi_calls_total',
      'idp_sync_pulumi_rate_limited_total',
      'idp_sync_deprovision_to_revoke_seconds_bucket',
      'idp_sync_holds_open',
      'idp_sync_pending_users',
    ]) {
      expect({ name, shown: exprs.some((e) => e.includes(name)) }).toEqual({ name, shown: true });
    }
  });

  it('gives each alert a runbook section in docs/operations.md, and covers the failure modes', () => {
    const slugs = new Set(
      [...read('docs', 'operations.md').matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
        m[1]
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rules) {
      const [file, anchor] = rule.annotations.runbook.split('#');
      expect({ alert: rule.alert, file, anchored: slugs.has(anchor) }).toEqual({ alert: rule.alert, file: 'docs/operations.md', anchored: true });
    }
    const watched = rules.flatMap((r) => namesIn(r.expr));
    for (const name of [
      'idp_sync_outbox_oldest_age_seconds',
      'idp_sync_jobs_stalled_total',
      'idp_sync_deprovision_to_revoke_seconds_bucket',
      'idp_sync_teams_degraded',
      'idp_sync_redis_noeviction',
      'idp_sync_reconciles_total',
    ]) {
      expect({ name, alerted: watched.includes(name) }).toEqual({ name, alerted: true });
    }
  });
});
