/** Waiting on QEMU, bounded: a VMM that stops answering must not hang its caller. */

/** Resolves after `ms`; never keeps the process alive on its own. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** `p`, or a rejection saying `what` did not happen within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what = 'no answer'): Promise<T> {
  return Promise.race([p, delay(ms).then(() => Promise.reject(new Error(`${what} within ${ms} ms`)))]);
}
