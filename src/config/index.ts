/**
 * Configuration, read from the environment and checked whole before anything starts: the
 * daemon's, worker's and CLI's (`loadConfig`, SAML settings included; `loadDaemonConfig` also
 * refuses the built-in Pulumi emulator unless asked) and the standalone
 * emulator's (`loadEmulatorSettings`). The `…OrExit` forms are for entry points: a bad
 * variable is one line on stderr and exit code 2.
 */
export {
  loadConfig,
  loadConfigOrExit,
  loadDaemonConfig,
  loadDaemonConfigOrExit,
  ConfigError,
  scimRateLimit,
  describeConfig,
  embeddedDatabaseUrl,
  EMBEDDED_DATABASE,
} from './env';
export type { Config } from './env';
export { ACS_PATH, METADATA_PATH, parsePemCertificates } from './saml';
export type { SamlSettings } from './saml';
export { loadEmulatorSettings, loadEmulatorSettingsOrExit } from './emulator';
export type { EmulatorSettings } from './emulator';
