/**
 * Where a start's time goes: each step of create -> running (the image resolved, volumes ready, the address
 * and tap, the writable layer; these run at once, each timed on its own, and `prepared` is the wait for them
 * all; then the process's spec, the scratch disk if the launch still had to make one, the VMM spawned, its
 * channel connected, the agent's greeting once the guest booted, the process started, its ports open).
 * Logged with every start (`container started`, `startup_ms`); `npm run bench:api` prints their medians
 * beside the bare boot.
 * @module
 */
export class StartupSteps {
  private readonly start = performance.now();
  private last = this.start;
  /** Milliseconds each step took, in the order they began. */
  readonly ms: Record<string, number> = {};

  readonly mark = (step: string): void => {
    const now = performance.now();
    this.ms[step] = round(now - this.last);
    this.last = now;
  };

  /**
   * Times a step that runs beside others, from its own start to its end; it does not move the mark, so the
   * `mark` after the steps that ran together times the wait for all of them.
   */
  async timed<T>(step: string, work: () => Promise<T>): Promise<T> {
    const start = performance.now();
    this.ms[step] = 0; // its place among the steps is where it began: the same in every start's log
    try {
      return await work();
    } finally {
      this.ms[step] = round(performance.now() - start);
    }
  }

  totalMs(): number {
    return round(performance.now() - this.start);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
