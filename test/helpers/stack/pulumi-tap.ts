import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A recording reverse proxy between the daemon and the Pulumi emulator. The emulator's own
 * call log has no wall-clock times; the deprovision and convergence figures need the moment
 * each call was answered, on the same clock as the benchmark's SCIM requests. The tap adds
 * one loopback hop (well under a millisecond), which counts against the daemon.
 */

export interface TappedCall {
  method: string;
  path: string;
  status: number;
  /** performance.now() when the request arrived at the tap. */
  startedAt: number;
  /** performance.now() when the emulator's answer had been sent on to the daemon. */
  answeredAt: number;
  /** The JSON body the daemon sent, for PATCH routes (member add/remove) and team creation; bodies hold logins and team names, never secrets. */
  body?: unknown;
}

export interface PulumiTap {
  url: string;
  calls: TappedCall[];
  /** Calls from index `from` on that match. */
  since(from: number, predicate: (c: TappedCall) => boolean): TappedCall[];
  stop(): Promise<void>;
}

export async function startPulumiTap(target: string): Promise<PulumiTap> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const calls: TappedCall[] = [];
  const server = http.createServer((req, res) => {
    const startedAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => {
            const call: TappedCall = {
              method: req.method ?? 'GET',
              path: (req.url ?? '').split('?')[0],
              status: answer.statusCode ?? 0,
              startedAt,
              answeredAt: performance.now(),
            };
            // Team PATCHes (member add/remove) and team creation, whose team name is in the body.
            const createsTeam = req.method === 'POST' && /\/teams\/pulumi$/.test(call.path);
            if ((req.method === 'PATCH' || createsTeam) && raw.length > 0 && raw.length < 4096) {
              try {
                call.body = JSON.parse(raw.toString('utf8'));
              } catch {
                // not JSON: nothing to record
              }
            }
            calls.push(call);
          });
        },
      );
      forward.on('error', () => {
        calls.push({ method: req.method ?? 'GET', path: req.url ?? '', status: 0, startedAt, answeredAt: performance.now() });
        req.socket.destroy();
      });
      forward.end(raw);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    since: (from, predicate) => calls.slice(from).filter(predicate),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
