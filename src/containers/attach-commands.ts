/**
 * The attach command behind the manager's door: a client's `Attachment` to a container's main process,
 * the one running now or, with `nextRun`, the next one to start (Docker's attach to a container that does
 * not run: `docker run` and `docker start -a` attach before they start it).
 * @module
 */
import { ENDED_STATES } from '../model/index.ts';
import type { EventRecord } from '../model/index.ts';
import { Attachment, type AttachPoint } from './attach.ts';
import { stateConflict, type ContainerContext } from './context.ts';

/** Attaches to a running container's main process; without `nextRun`, FailedPrecondition (409) if none runs. */
export async function attachTo(ctx: ContainerContext, id: string, opts: { nextRun?: boolean } = {}): Promise<Attachment> {
  // Listening first: a run that starts while the state is read is not missed.
  let waiting: Attachment | undefined;
  const early: AttachPoint[] = [];
  const onPoint = (cid: string, point: AttachPoint) => {
    if (cid !== id) return;
    if (waiting) waiting.bind(point);
    else early.push(point);
  };
  const ends: EventRecord[] = [];
  const onEvent = (e: EventRecord) => {
    if (e.container_id !== id || e.type !== 'state' || e.from_state === null || !e.to_state || !ENDED_STATES.has(e.to_state)) return;
    if (waiting) waiting.endUnbound(e.exit_code);
    else ends.push(e);
  };
  const onRemoved = (rid: string) => rid === id && waiting?.endUnbound(null);
  ctx.notices.on('attach-point', onPoint);
  const unsubscribe = ctx.store.onEvent(onEvent);
  ctx.notices.on('removed', onRemoved);
  const stopListening = () => {
    ctx.notices.off('attach-point', onPoint);
    unsubscribe();
    ctx.notices.off('removed', onRemoved);
  };
  try {
    const c = await ctx.get(id);
    const run = ctx.runs.run(id);
    const point = run?.attachPoint;
    if (c.state === 'running' && run?.started && !run.finished && point && !point.ended) {
      stopListening();
      return new Attachment(point, c.name, c.tty, c.stdin_open);
    }
    if (!opts.nextRun) throw stateConflict(`container ${c.name} is ${c.state}; attach needs it running`);
    waiting = new Attachment(undefined, c.name, c.tty, c.stdin_open);
    waiting.onDetach(stopListening);
    // What happened while the state was read: a point the run made (bind to it), else an end.
    const made = early.at(-1) ?? (point && !point.ended ? point : undefined);
    if (made) waiting.bind(made);
    else if (ends.length > 0) waiting.endUnbound(ends.at(-1)!.exit_code);
    return waiting;
  } catch (e) {
    stopListening();
    throw e;
  }
}
