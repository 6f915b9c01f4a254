/**
 * The live view of the manager: one `/v1/events` stream for the whole tab. A burst of container events makes
 * the list be read again (one GET, which cannot race a delete into a 404 as a read of one container would), so
 * pages show what the manager knows without polling or reloading. Pages that want the events themselves (a container's state history, the images list) listen here.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, streamLines } from './api';
import type { Container, HearthEvent } from './types';

/** Events that change nothing shown about a container (they come often during a pull or exec). */
const QUIET = new Set(['pull', 'exec-start', 'exec-end', 'kill']);

class Live {
  containers = new Map<string, Container>();
  loaded = false;
  error = '';
  private readonly views = new Set<() => void>();
  private readonly eventListeners = new Set<(e: HearthEvent) => void>();
  private pending: ReturnType<typeof setTimeout> | undefined;
  private stop: AbortController | undefined;

  start(): void {
    if (this.stop) return;
    const stop = (this.stop = new AbortController());
    const run = async () => {
      // From a second before the list is read: nothing falls between the list and the stream.
      const since = Math.floor(Date.now() / 1000) - 1;
      const streaming = streamLines<HearthEvent>('GET', `/v1/events?since=${since}`, (e) => this.onEvent(e), stop.signal);
      // Handled below, or by the failure of the list read (which ends this run first).
      streaming.catch(() => {});
      await this.reloadAll();
      await streaming;
    };
    const loop = async () => {
      while (!stop.signal.aborted) {
        try {
          await run();
        } catch (e) {
          this.error = (e as Error).message;
          this.changed();
        }
        // The stream ended (manager restarted): connect again after a pause.
        if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void loop();
  }

  close(): void {
    this.stop?.abort();
    this.stop = undefined;
  }

  subscribe(view: () => void): () => void {
    this.views.add(view);
    return () => this.views.delete(view);
  }

  onEvents(f: (e: HearthEvent) => void): () => void {
    this.eventListeners.add(f);
    return () => this.eventListeners.delete(f);
  }

  /** Reads the containers again soon (after an action), not waiting for its events. */
  refresh(): void {
    this.soon();
  }

  private onEvent(e: HearthEvent): void {
    for (const f of this.eventListeners) f(e);
    if (e.type === 'deleted' || (e.container_id && !QUIET.has(e.type))) this.soon();
  }

  /** Events come in bursts (booting, initializing, running): one read per burst. */
  private soon(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reloadAll().catch((e: Error) => ((this.error = e.message), this.changed()));
    }, 50);
  }

  private async reloadAll(): Promise<void> {
    const { items } = await call<{ items: Container[] }>('GET', '/v1/containers');
    this.containers = new Map(items.map((c) => [c.id, c]));
    this.loaded = true;
    this.error = '';
    this.changed();
  }

  private changed(): void {
    for (const v of this.views) v();
  }
}

export const live = new Live();

/** The containers, re-rendered on every change. */
export function useContainers(): { containers: Container[]; loaded: boolean; error: string } {
  const [, setTick] = useState(0);
  useEffect(() => live.subscribe(() => setTick((t) => t + 1)), []);
  return { containers: [...live.containers.values()], loaded: live.loaded, error: live.error };
}

/** Calls `f` with each event as it comes, while the component is shown. */
export function useEvents(f: (e: HearthEvent) => void, deps: unknown[] = []): void {
  useEffect(() => live.onEvents(f), deps);
}

/** A value that ticks every second (uptimes). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}
