/**
 * `POST /containers/{id}/update` (`docker update`): the restart policy in any state (`docker update
 * --restart unless-stopped $(docker ps -q)`); memory and CPUs of a container that is not running (a running
 * VM's are fixed when it boots: 409 saying so); anything else a 400 naming it. dockerd's `{"Warnings": []}`.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { ACTIVE_STATES } from '../../../model/index.ts';
import type { DockerContext } from '../context.ts';
import { conflict, invalidParameter } from '../errors.ts';
import { withContainer } from '../resolve.ts';
import { resources, restartPolicy } from '../shapes/create.ts';

type Update = { Params: { id: string }; Body: unknown };

/** Fields of the update body Hearth acts on; every other one must be empty (the CLI sends them zero). */
const HANDLED = new Set(['RestartPolicy', 'Memory', 'MemorySwap', 'NanoCpus', 'CpuQuota', 'CpuPeriod']);

export function containerUpdateRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.post<Update>('/containers/:id/update', async (req) => {
    const body = (req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(body)) {
      if (!HANDLED.has(k) && !isEmpty(v)) throw invalidParameter(`${k} cannot be updated by Hearth (only the restart policy, and memory and CPUs of a container that is not running)`);
    }
    const rp = (body.RestartPolicy ?? {}) as Record<string, unknown>;
    const policy = typeof rp.Name === 'string' && rp.Name !== '' ? restartPolicy(rp) : undefined;
    const limits = resources(body);
    await withContainer(ctx, req.params.id, async (c) => {
      if (policy && policy.restart_policy !== 'no' && c.auto_remove) {
        throw invalidParameter('Restart policy cannot be updated because AutoRemove is enabled for the container');
      }
      if (limits.cpus !== undefined || limits.memory_mib !== undefined) {
        if (ACTIVE_STATES.has(c.state)) {
          throw conflict(`Cannot update the memory or CPUs of container ${c.name} while it runs: a Hearth container's VM gets them when it boots; stop it, update it, then start it`);
        }
        await ctx.manager.update(c.id, limits);
      }
      if (policy) await ctx.manager.setRestartPolicy(c.id, policy.restart_policy, policy.restart_max_retries);
    });
    return { Warnings: [] };
  });
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isEmpty);
  return false;
}
