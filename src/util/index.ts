/**
 * Small helpers shared by several parts, with no dependency on any part.
 */

/**
 * Settles like `promise`, or rejects with `message` after `ms` — the promise itself keeps
 * running. The timer never keeps the process alive by itself (shutdown relies on that).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, message = `no answer within ${ms} ms`): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms).unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
