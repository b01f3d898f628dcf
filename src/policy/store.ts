import { EventEmitter } from 'node:events';
import { loadPolicy, type LoadPolicyOptions, type Policy, PolicyError } from './load';

/**
 * The current policy of a process. `reload()` (wired to SIGHUP) reads the file again; a bad
 * file leaves the running policy in place and reports the error, so a typo cannot stop the
 * daemon. Jobs read `current` once at their start, so in-flight work finishes on the policy
 * it began with.
 */
export class PolicyStore extends EventEmitter<{ changed: [next: Policy, previous: Policy] }> {
  #current: Policy;

  constructor(
    readonly file: string,
    private readonly options: LoadPolicyOptions = {},
    initial?: Policy,
  ) {
    super();
    this.#current = initial ?? loadPolicy(file, options);
  }

  get current(): Policy {
    return this.#current;
  }

  /** Re-reads the file. Resolves to the new policy, or rejects with PolicyError (old policy kept). */
  reload(): Policy {
    const next = loadPolicy(this.file, this.options);
    const previous = this.#current;
    this.#current = next;
    if (next.digest !== previous.digest) this.emit('changed', next, previous);
    return next;
  }
}

export { PolicyError };
