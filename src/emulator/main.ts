import { readFileSync } from 'node:fs';
import { startEmulator, EmulatorSeed, SeedError, demoSeed } from './index';

/**
 * `npm run emulator`: the emulator on its own. EMULATOR_PORT (or PORT; default 8090),
 * EMULATOR_HOST (default 127.0.0.1), EMULATOR_SEED (a JSON seed file; default the demo org),
 * EMULATOR_TOKEN (the admin token; random when unset), EMULATOR_ORG.
 */
async function main(): Promise<void> {
  const port = Number(process.env.EMULATOR_PORT ?? process.env.PORT ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`EMULATOR_PORT/PORT: not a port: ${port}`);
  const seed = process.env.EMULATOR_SEED ? readSeed(process.env.EMULATOR_SEED) : demoSeed;
  const emulator = await startEmulator({
    port,
    host: process.env.EMULATOR_HOST || '127.0.0.1',
    seed,
    org: process.env.EMULATOR_ORG || undefined,
    accessToken: process.env.EMULATOR_TOKEN || undefined,
  });
  process.stdout.write(
    [
      `Pulumi Service emulator listening on ${emulator.url} (org "${emulator.state.org}")`,
      `  PULUMI_BACKEND_URL=${emulator.url}`,
      `  PULUMI_ACCESS_TOKEN=${emulator.accessToken}`,
      `  PULUMI_ORG=${emulator.state.org}`,
      `  control API: ${emulator.url}/_emulator/{state,seed,config,faults,calls}`,
      '',
    ].join('\n'),
  );
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function readSeed(file: string): EmulatorSeed {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`EMULATOR_SEED: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as EmulatorSeed;
  } catch (err) {
    throw new Error(`EMULATOR_SEED: ${file} is not JSON: ${(err as Error).message}`);
  }
}

main().catch((err: unknown) => {
  const message = err instanceof SeedError ? err.message : (err as Error).message;
  process.stderr.write(`emulator failed to start: ${message}\n`);
  process.exit(1);
});
