/**
 * Where a start's time goes: each step of create -> running, measured as it ends (the image resolved, volumes
 * and network ready, the process's spec, the scratch disk, the VMM spawned, its channel connected, the agent's
 * greeting once the guest booted, the process started, its ports open). Logged with every start (`container started`, `startup_ms`); `npm run bench:api`
 * prints their medians beside the bare boot.
 * @module
 */
export class StartupSteps {
  private readonly start = performance.now();
  private last = this.start;
  /** Milliseconds each step took, in the order they ended. */
  readonly ms: Record<string, number> = {};

  readonly mark = (step: string): void => {
    const now = performance.now();
    this.ms[step] = round(now - this.last);
    this.last = now;
  };

  totalMs(): number {
    return round(performance.now() - this.start);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
