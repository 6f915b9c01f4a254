/**
 * Requests the guest agent answers in order on session 0 (TOP with PROCESSES, STATS with STATS_RESULT): each
 * waits for the next answer of its kind, or fails after a while (a guest that does not answer is not
 * listening) or when the channel is lost.
 * @module
 */
import { HearthError } from '../errors.ts';

interface Waiter<T> {
  resolve: (answer: T) => void;
  reject: (e: Error) => void;
}

export class OrderedAnswers<T> {
  private readonly waiters: Array<Waiter<T>> = [];

  /** @param what names the request in the timeout's message ("list its processes"). */
  constructor(
    private readonly vmId: string,
    private readonly what: string,
    private readonly timeoutMs: number,
  ) {}

  /** Sends the request (`send`) and resolves with its answer. */
  request(send: () => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new HearthError('Unavailable', 'HEARTH_ERR_AGENT_UNRESPONSIVE', `VM ${this.vmId}: the guest agent did not ${this.what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const waiter: Waiter<T> = {
        resolve: (answer) => (clearTimeout(timer), resolve(answer)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.push(waiter);
      send();
    });
  }

  /** An answer arrived: the oldest request gets it. */
  answer(value: T): void {
    this.waiters.shift()?.resolve(value);
  }

  /** The channel is lost: no answer will come. */
  failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
}
