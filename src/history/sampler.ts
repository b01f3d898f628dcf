import type { Db } from '../directory';
import { type Logger, warnAtMostEvery } from '../log';
import { type HistoryReading, readHistoryReading } from '../metrics';
import { sampleRows, WINDOW_MS, windowStartOf } from './series';
import { pruneWindows, writeSample } from './store';

/** How often each process samples its figures into the history. */
export const SAMPLE_EVERY_MS = 30_000;
/** Windows kept: the day the charts show, and an hour's margin. */
export const RETENTION_MS = 25 * 3600 * 1000;

export interface HistorySampler {
  /** Takes one sample now (the timer's work; tests call it to wait on a sample). */
  sample(now?: Date): Promise<void>;
  stop(): void;
}

export interface HistorySamplerOptions {
  db: Db;
  logger: Logger;
  /** @defaultValue SAMPLE_EVERY_MS */
  everyMs?: number;
  /** This process's figures. @defaultValue the metrics registry's */
  read?: () => Promise<HistoryReading>;
}

/**
 * Samples this process's figures into `metrics_history` every `everyMs`, and prunes windows past
 * RETENTION_MS. A count's growth is carried to the next sample until a write succeeds, so a
 * failed write loses nothing but that window's placement.
 */
export function startHistorySampler(options: HistorySamplerOptions): HistorySampler {
  const { db } = options;
  const read = options.read ?? readHistoryReading;
  const warn = warnAtMostEvery(options.logger);
  let previous: HistoryReading | undefined;
  let running: Promise<void> | undefined;

  const sampleOnce = async (now: Date) => {
    const current = await read();
    await writeSample(db, windowStartOf(now), sampleRows(previous, current));
    previous = current;
    await pruneWindows(db, new Date(windowStartOf(now).getTime() - RETENTION_MS + WINDOW_MS));
  };
  const sample = (now = new Date()): Promise<void> => {
    running ??= sampleOnce(now)
      .catch((err: Error) => warn('metrics history sample failed', { err: err.message }))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void sample(), options.everyMs ?? SAMPLE_EVERY_MS);
  timer.unref();
  return {
    sample,
    stop: () => clearInterval(timer),
  };
}
