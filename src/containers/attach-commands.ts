/**
 * The attach command behind the manager's door: a client's `Attachment` to a running container's process.
 * @module
 */
import { Attachment } from './attach.ts';
import { stateConflict, type ContainerContext } from './context.ts';

/** Attaches to a running container's main process (FailedPrecondition, 409, otherwise). */
export async function attachTo(ctx: ContainerContext, id: string): Promise<Attachment> {
  const c = await ctx.get(id);
  const run = ctx.runs.run(id);
  const point = run?.attachPoint;
  if (c.state !== 'running' || !run?.started || run.finished || !point || point.ended) {
    throw stateConflict(`container ${c.name} is ${c.state}; attach needs it running`);
  }
  return new Attachment(point, c.name, c.tty, c.stdin_open);
}
