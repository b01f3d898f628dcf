import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoSeed, EmulatorStateFile, startEmulator, type Emulator } from '../../src/emulator';

/** The emulator's org in a file: written after changes, restored only from the same seed and org. */

let dir: string;
let emu: Emulator;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-emulator-state-'));
});
afterEach(async () => {
  await emu?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('writes the state after a change over REST and restores it for the same seed and org only', async () => {
  const file = path.join(dir, 'emulator', 'state.json');
  const store = new EmulatorStateFile(file, { seed: demoSeed, org: undefined });
  expect(store.read()).toBeUndefined();
  emu = await startEmulator({ seed: demoSeed, onChange: () => store.changed(() => emu.state, 60_000) });
  const res = await fetch(`${emu.url}/api/orgs/acme/teams/pulumi`, {
    method: 'POST',
    headers: { authorization: `token ${emu.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ organization: 'acme', teamType: 'pulumi', name: 'platform', displayName: 'Platform', description: '' }),
  });
  expect(res.status).toBeLessThan(300);
  // Written on flush (the daemon's stop) when the delay has not run out yet.
  store.flush();
  expect(new EmulatorStateFile(file, { seed: demoSeed, org: undefined }).read()?.teams.map((t) => t.name)).toContain('platform');
  expect(new EmulatorStateFile(file, { seed: demoSeed, org: 'other' }).read()).toBeUndefined();
  expect(fs.readdirSync(path.dirname(file))).toEqual(['state.json']);
  fs.writeFileSync(file, '{"seedDigest": 1');
  expect(store.read()).toBeUndefined();
});
