/**
 * What this process's clients just revoked or removed, so that two callers of one change — the
 * revoke lane and a team reconcile that read the team before the lane got there — make one call
 * between them, not a second one answered 404 (docs/robustness.md, "One Pulumi budget per org"):
 * a caller joins the same change in flight, and a change done within its memory counts as done.
 * Only for changes no one undoes by repeating them: a token id is never reused, and a removal is
 * forgotten as soon as this process adds the member back.
 */
const MAX_ENTRIES = 50_000;

export class DoneMemo {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** key → until when it counts as done (epoch ms), oldest first. */
  private readonly done = new Map<string, number>();

  once(key: string, rememberMs: number, run: () => Promise<void>): Promise<void> {
    const until = this.done.get(key);
    if (until !== undefined && until > Date.now()) return Promise.resolve();
    const running = this.inFlight.get(key);
    if (running) return running;
    const change = run()
      .then(() => this.remember(key, Date.now() + rememberMs))
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, change);
    return change;
  }

  /** True while `key` counts as done. */
  isDone(key: string): boolean {
    const until = this.done.get(key);
    return until !== undefined && until > Date.now();
  }

  forget(key: string): void {
    this.done.delete(key);
  }

  private remember(key: string, until: number): void {
    this.done.delete(key);
    this.done.set(key, until);
    if (this.done.size > MAX_ENTRIES) this.done.delete(this.done.keys().next().value as string);
  }
}
