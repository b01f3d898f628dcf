import winston from 'winston';

/**
 * Structured JSON logs with redaction applied in the formatter, so no call site can leak a
 * secret or personal data by accident: keys that name secrets, personal data or request
 * bodies are replaced with "[Filtered]" at any depth (outline's `Logger.sanitize`, deeper).
 */

const FILTERED = '[Filtered]';

/** Keys whose values are never written to a log, compared case-insensitively. */
const REDACTED_KEYS = new Set(
  [
    'authorization',
    'token',
    'tokenvalue',
    'accesstoken',
    'bearer',
    'password',
    'secret',
    'cookie',
    'set-cookie',
    'body',
    'email',
    'emails',
    'username',
    'user_name',
    'displayname',
    'display_name',
    'name',
    'givenname',
    'familyname',
    'formatted',
    'samlresponse',
    'nameid',
    'member',
    'members',
    'login',
    'owner',
    'createdby',
  ].map((k) => k.toLowerCase()),
);

const MAX_DEPTH = 6;

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return FILTERED;
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = REDACTED_KEYS.has(key.toLowerCase()) ? FILTERED : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = REDACTED_KEYS.has(key.toLowerCase()) ? FILTERED : redact(info[key]);
  }
  return info;
});

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** Extra transport, used by the log-capture tests. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

const LEVEL = Symbol.for('level');

export function createLogger(options: LoggerOptions = {}): Logger {
  const transports: winston.transport[] = [options.stream ? new winston.transports.Stream({ stream: options.stream }) : new winston.transports.Console()];
  // winston runs the whole format chain on every message and leaves the level check to the
  // transports, so a per-request `http` or `debug` line was redacted, stamped and serialised
  // only to be dropped. Dropping it first keeps disabled levels nearly free.
  const enabledLevel = winston.format((info) => logger.isLevelEnabled(info[LEVEL] as string) && info);
  const logger: Logger = winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    format: winston.format.combine(enabledLevel(), redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports,
  });
  return logger;
}

/**
 * For a condition that recurs while it lasts (a connection retrying every second or two): a
 * warning the first time and then at most once per `intervalMs`, with how many were held back,
 * and debug lines in between — so an outage is visible without burying the rest of the log.
 */
export function warnAtMostEvery(logger: Logger, intervalMs = 60_000): (message: string, meta?: Record<string, unknown>) => void {
  let lastWarnAt = Number.NEGATIVE_INFINITY;
  let heldBack = 0;
  return (message, meta = {}) => {
    const now = Date.now();
    if (now - lastWarnAt < intervalMs) {
      heldBack++;
      logger.debug(message, meta);
      return;
    }
    logger.warn(message, heldBack > 0 ? { ...meta, repeatedSinceLastWarning: heldBack } : meta);
    lastWarnAt = now;
    heldBack = 0;
  };
}
