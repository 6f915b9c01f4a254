/**
 * Docker's `--rm` (`auto_remove`): a container is deleted as soon as a run of it ends, whatever ended it (its
 * process exiting, a stop, a failure), as dockerd does. The end is heard from the store's events, so one that
 * a recovery records after a manager restart counts too; the deletion is an ordinary delete, and a `wait`
 * for `removed` answers with the exit code of that last run.
 * @module
 */
import { describeError, isHearthError } from '../errors.ts';
import { ENDED_STATES, type EventRecord } from '../model/index.ts';
import type { ContainerContext } from './context.ts';

/** Returns how to stop listening. */
export function removeWhenEnded(ctx: ContainerContext, remove: (id: string) => Promise<void>): () => void {
  return ctx.store.onEvent((e: EventRecord) => {
    // from_state null is the container's creation (a Docker create is recorded stopped): not a run's end.
    if (e.type !== 'state' || e.from_state === null || !e.to_state || !ENDED_STATES.has(e.to_state) || !e.container_id) return;
    const id = e.container_id;
    void (async () => {
      const c = await ctx.store.getContainer(id);
      if (!c?.auto_remove || ctx.closing) return;
      await remove(id);
    })().catch((err: unknown) => {
      if (isHearthError(err, 'HEARTH_ERR_CONTAINER_NOT_FOUND')) return; // deleted meanwhile
      ctx.log.error({ err, container: id }, `could not remove the container after its run (auto_remove): ${describeError(err)}`);
    });
  });
}
