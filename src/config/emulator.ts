import { z } from 'zod';
import { emptyAsUnset, optionalString, orExit, parseEnv } from './env';

/**
 * Settings of `npm run emulator`, the Pulumi Service emulator on its own: EMULATOR_PORT (or
 * PORT; default 8090), EMULATOR_HOST (default 127.0.0.1), EMULATOR_SEED (a JSON seed file;
 * default the demo org), EMULATOR_TOKEN (the admin token; random when unset), EMULATOR_ORG.
 */
export interface EmulatorSettings {
  port: number;
  host: string;
  /** JSON seed file; undefined = the demo org. */
  seedFile: string | undefined;
  org: string | undefined;
  /** The token clients must send; undefined = a random one. */
  accessToken: string | undefined;
}

const optionalPort = z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(65535).optional());

export const emulatorEnvSchema = z
  .object({
    EMULATOR_PORT: optionalPort,
    PORT: optionalPort,
    EMULATOR_HOST: z.preprocess(emptyAsUnset, z.string().default('127.0.0.1')),
    EMULATOR_SEED: optionalString,
    EMULATOR_ORG: optionalString,
    EMULATOR_TOKEN: optionalString,
  })
  .transform(
    (env): EmulatorSettings => ({
      port: env.EMULATOR_PORT ?? env.PORT ?? 8090,
      host: env.EMULATOR_HOST,
      seedFile: env.EMULATOR_SEED,
      org: env.EMULATOR_ORG,
      accessToken: env.EMULATOR_TOKEN,
    }),
  );

/** Throws ConfigError naming every bad variable. */
export function loadEmulatorSettings(env: NodeJS.ProcessEnv = process.env): EmulatorSettings {
  return Object.freeze(parseEnv(emulatorEnvSchema, env));
}

export function loadEmulatorSettingsOrExit(env: NodeJS.ProcessEnv = process.env): EmulatorSettings {
  return orExit(() => loadEmulatorSettings(env));
}
