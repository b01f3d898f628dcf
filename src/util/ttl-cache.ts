/**
 * A value loaded on demand and kept for `ttlMs`. Once it is older, callers still get the old
 * value at once while one refresh runs in the background (stale-while-revalidate): a large
 * list read page by page should not hold up every caller once there is one. Only the first
 * load, or one after `invalidate()`, is awaited.
 */
export class TtlCache<T> {
  #value?: Promise<T>;
  #at = 0;
  #refreshing = false;
  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}
  get(): Promise<T> {
    if (!this.#value) {
      this.#at = Date.now();
      this.#value = this.#track(this.load());
    } else if (Date.now() - this.#at > this.ttlMs && !this.#refreshing) {
      this.#refreshing = true;
      const next = this.load();
      next.then(
        () => {
          this.#at = Date.now();
          this.#value = next;
          this.#refreshing = false;
        },
        () => {
          this.#refreshing = false;
        },
      );
    }
    return this.#value;
  }
  /** Changes the cached value in place (e.g. a member this process just added). */
  update(change: (value: T) => void): void {
    // A failed load has nothing to change; the next get() loads again.
    this.#value?.then(change, () => undefined);
  }
  invalidate(): void {
    this.#value = undefined;
  }
  #track(value: Promise<T>): Promise<T> {
    value.catch(() => {
      if (this.#value === value) this.#value = undefined;
    });
    return value;
  }
}
