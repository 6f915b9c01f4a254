/**
 * `POST /containers/prune` (`docker container prune`, and the first step of `docker system prune`): deletes
 * every container whose run has ended (stopped, exited, failed, or created and never started) and that no
 * restart policy will start again, as dockerd removes its non-running containers. Filters `until` and
 * `label` (`key`, `key=value`, and `label!=` to keep the matching ones).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { ENDED_STATES, type ContainerRecord } from '../../../model/index.ts';
import { isHearthError } from '../../../errors.ts';
import type { DockerContext } from '../context.ts';
import { filterTime, matchLabels, parseFilters, type Filters } from '../filter-args.ts';
import { sizes } from './containers.ts';

export function containerPruneRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.post<{ Querystring: { filters?: string } }>('/containers/prune', async (req) => {
    const filters = parseFilters(req.query.filters, ['until', 'label', 'label!']);
    const untilText = filters.get('until')?.[0];
    const until = untilText === undefined ? undefined : filterTime(untilText, 'until');
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of await ctx.manager.list()) {
      if (!pruneable(c) || (until !== undefined && Date.parse(c.created_at) > until) || !labelsPass(filters, c.labels)) continue;
      const { SizeRw } = await sizes(ctx, c);
      try {
        await ctx.manager.remove(c.id);
      } catch (e) {
        if (isHearthError(e, 'HEARTH_ERR_CONTAINER_NOT_FOUND')) continue; // removed meanwhile
        throw e;
      }
      deleted.push(c.container_id);
      reclaimed += SizeRw;
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
  });
}

/** Its run has ended and no policy restarts it: a pending restart is dockerd's `restarting`, never pruned. */
const pruneable = (c: ContainerRecord) => ENDED_STATES.has(c.state) && (c.restart_policy === 'no' || c.desired_state === 'stopped');

/** `label` must all hold; `label!` (`--filter label!=…`) keeps those it matches. */
function labelsPass(f: Filters, labels: Record<string, string>): boolean {
  const kept = (f.get('label!') ?? []).some((want) => matchLabels(new Map([['label', [want]]]), labels));
  return matchLabels(f, labels) && !kept;
}
