/**
 * What the collector must leave alone, and the lock that makes its view of that exact.
 *
 *  - Pins: digests a pull or a disk build in progress is using, counted (two pulls may share a layer) and
 *    released together by the operation that took them (`Pins`).
 *  - Runs: the manifest digest each container's last provisioning resolved, by container id. A tag can move
 *    (a newer pull) while a container runs on the image it named before; this keeps that image.
 *  - The lock: a collection runs under it from start to end, and pulls take their pins under it, so a
 *    collection sees every pin taken before it and no pull sees a blob it is about to delete.
 * @module
 */

export class Holds {
  /** digest -> number of operations pinning it */
  private readonly pinned = new Map<string, number>();
  /** container id -> manifest digest */
  readonly runs = new Map<string, string>();
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` alone among everything else run under this lock. */
  exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => {});
    return next;
  }

  pinnedDigests(): string[] {
    return [...this.pinned.keys()];
  }

  /** A new set of pins for one operation. */
  pins(): Pins {
    return new Pins(this.pinned);
  }
}

/** The digests one operation keeps from the collector, released together. */
export class Pins {
  private readonly held: string[] = [];
  constructor(private readonly counts: Map<string, number>) {}

  add(...digests: string[]): void {
    for (const d of digests) {
      this.held.push(d);
      this.counts.set(d, (this.counts.get(d) ?? 0) + 1);
    }
  }

  release(): void {
    for (const d of this.held.splice(0)) {
      const n = (this.counts.get(d) ?? 1) - 1;
      if (n <= 0) this.counts.delete(d);
      else this.counts.set(d, n);
    }
  }
}
