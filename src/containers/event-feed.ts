/**
 * The events of every container as one feed: the backlog from the store, then each event as it is written,
 * with no gap and no duplicate between the two. The live subscription is taken before the backlog is read;
 * what it hears meanwhile is held, then delivered after the backlog, skipping any event the backlog had
 * (events are numbered in the order they are committed, so the backlog's last id is the seam).
 * @module
 */
import type { EventRecord, EventType } from '../model/index.ts';
import type { ContainerStore } from '../store/container-store.ts';

export interface EventFeedQuery {
  /** Only events after this id (a client resuming: the id of the last event it saw). */
  afterId?: number;
  /** Only events at or after this time. */
  since?: Date;
  /** Only events at or before this time; the feed ends when it has passed. */
  until?: Date;
  containerIds?: readonly string[];
  types?: readonly EventType[];
}

/**
 * Calls `onEvent` for each event `q` picks, oldest first, until `until` passes or `signal` aborts (then
 * `onEnd` is called once). Resolves once the backlog is delivered.
 */
export async function followEvents(
  store: ContainerStore,
  q: EventFeedQuery,
  onEvent: (e: EventRecord) => void,
  onEnd: () => void,
  signal: AbortSignal,
): Promise<void> {
  const picks = (e: EventRecord) =>
    (!q.containerIds || (e.container_id !== null && q.containerIds.includes(e.container_id))) && (!q.types || q.types.includes(e.type));
  let seam = q.afterId ?? 0;
  let live = false;
  let ended = false;
  const held: EventRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearTimeout(timer);
    signal.removeEventListener('abort', end);
    onEnd();
  };
  const deliver = (e: EventRecord) => {
    if (ended || e.id <= seam) return;
    if (q.until && Date.parse(e.time) > q.until.getTime()) return end();
    if (q.since && Date.parse(e.time) < q.since.getTime()) return;
    onEvent(e);
  };
  const unsubscribe = store.onEvent((e) => {
    if (!picks(e)) return;
    if (live) deliver(e);
    else held.push(e);
  });
  signal.addEventListener('abort', end, { once: true });
  if (signal.aborted) return end();
  try {
    const backlog = await store.listAllEvents({
      ...(q.afterId !== undefined ? { afterId: q.afterId } : {}),
      ...(q.since ? { since: q.since.toISOString() } : {}),
      ...(q.until ? { until: q.until.toISOString() } : {}),
      ...(q.containerIds ? { containerIds: q.containerIds } : {}),
      ...(q.types ? { types: q.types } : {}),
    });
    for (const e of backlog) deliver(e);
    seam = Math.max(seam, backlog.at(-1)?.id ?? 0);
  } catch (e) {
    end();
    throw e;
  }
  for (const e of held.splice(0)) deliver(e);
  live = true;
  if (!q.until || ended) return;
  const left = q.until.getTime() - Date.now();
  if (left < 0) return end();
  timer = setTimeout(end, left);
}
