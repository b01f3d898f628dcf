import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type EmulatorSeed, type EmulatorState, isEmulatorState } from './state';

/**
 * The emulator's state in a file, so it outlives the process: the zero-config daemon keeps its
 * directory in the embedded Postgres under DATA_DIR, and an org re-seeded on every start while
 * that directory stays would let status name teams the org no longer has. Pass `changed` as the
 * emulator's `onChange`: the state is written shortly after a burst of changes (a reconcile
 * makes many) and on `flush`. A file written from another seed or org is not restored.
 */
export class EmulatorStateFile {
  readonly #file: string;
  readonly #seedDigest: string;
  #timer: NodeJS.Timeout | undefined;
  #pending: (() => EmulatorState) | undefined;

  constructor(file: string, origin: { seed: EmulatorSeed; org: string | undefined }) {
    this.#file = file;
    this.#seedDigest = createHash('sha256').update(JSON.stringify(origin)).digest('hex');
  }

  /** The saved state, when the file holds a valid one from the same seed and org. */
  read(): EmulatorState | undefined {
    let saved: { seedDigest?: unknown; state?: unknown };
    try {
      saved = JSON.parse(fs.readFileSync(this.#file, 'utf8'));
    } catch {
      return undefined;
    }
    return saved.seedDigest === this.#seedDigest && isEmulatorState(saved.state) ? saved.state : undefined;
  }

  /** The state changed: write it within `delayMs`. */
  changed(current: () => EmulatorState, delayMs = 100): void {
    this.#pending = current;
    this.#timer ??= setTimeout(() => this.flush(), delayMs);
  }

  /** Writes what changed now (atomically: a crash leaves the previous file or the new one). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const current = this.#pending;
    this.#pending = undefined;
    if (current) this.write(current());
  }

  write(state: EmulatorState): void {
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ seedDigest: this.#seedDigest, state }), { mode: 0o600 });
    fs.renameSync(tmp, this.#file);
  }
}
