import { readFileSync } from 'node:fs';
import { type EmulatorSettings, loadEmulatorSettingsOrExit } from '../config';
import { startEmulator, type EmulatorSeed, SeedError, demoSeed } from './index';

/** `npm run emulator`: the emulator on its own, with the settings src/config reads (EmulatorSettings). */
async function main(settings: EmulatorSettings): Promise<void> {
  const seed = settings.seedFile ? readSeed(settings.seedFile) : demoSeed;
  const emulator = await startEmulator({
    port: settings.port,
    host: settings.host,
    seed,
    org: settings.org,
    accessToken: settings.accessToken,
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

main(loadEmulatorSettingsOrExit()).catch((err: unknown) => {
  const message = err instanceof SeedError ? err.message : (err as Error).message;
  process.stderr.write(`emulator failed to start: ${message}\n`);
  process.exit(1);
});
