/**
 * The manager's metrics: what it is counted on (API requests, pulls, provisioning times), and what is read at
 * each scrape (containers per state, each container's state, restarts and health, VMMs). Container series are
 * labelled `id` and `name`; API requests by route pattern (`/v1/containers/:id`, never the URL, so the
 * number of series stays bounded), method and status.
 * Each running container's usage (CPU, memory, network, block I/O) comes from its stats: container-usage.ts.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import type { ImageLibrary } from '../../containers/deps.ts';
import { CONTAINER_STATES, type EventRecord } from '../../model/index.ts';
import { collectContainerUsage } from './container-usage.ts';
import { Registry, type Histogram } from './exposition.ts';

/** Seconds: provisioning under emulation takes about a second, a cold pull of a large image minutes. */
const PROVISION_BUCKETS = [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
const PULL_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** The route label of a request no route matched (404, or a URL that could not be routed). */
const UNMATCHED = 'unmatched';

export class HearthMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram;
  private readonly provisioning: Histogram;
  private readonly pulls: Histogram;
  /** Container id -> when its current provisioning began (its transition to `creating`). */
  private readonly creating = new Map<string, number>();
  private readonly stop: Array<() => void> = [];

  constructor(
    private readonly manager: ContainerManager,
    images: Pick<ImageLibrary, 'onPull'>,
  ) {
    const r = this.registry;
    this.requests = r.histogram({
      name: 'hearth_api_request_duration_seconds',
      help: 'API requests by route pattern, method and status, from receiving the request to sending the response.',
      labelNames: ['route', 'method', 'status'],
    });
    this.provisioning = r.histogram({
      name: 'hearth_container_create_to_running_seconds',
      help: 'From a container entering creating (created, started, restarted) to its process running.',
      buckets: PROVISION_BUCKETS,
    });
    this.pulls = r.histogram({
      name: 'hearth_image_pull_duration_seconds',
      help: 'Pulls from a registry, from asking for the manifest to having every blob, by outcome (ok, error).',
      labelNames: ['outcome'],
      buckets: PULL_BUCKETS,
    });
    this.stop.push(
      manager.onEvent((e) => this.onEvent(e)),
      images.onPull((t) => this.pulls.observe({ outcome: t.ok ? 'ok' : 'error' }, t.seconds)),
    );
    this.collectContainers();
    collectContainerUsage(this.registry, manager);
  }

  /** Fastify's onResponse hook. */
  readonly onResponse = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.is404 ? UNMATCHED : (req.routeOptions.url ?? UNMATCHED);
    this.requests.observe({ route, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  };

  close(): void {
    for (const s of this.stop.splice(0)) s();
  }

  private onEvent(e: EventRecord): void {
    if (e.type !== 'state' || e.container_id === null) return;
    const at = Date.parse(e.time);
    if (e.to_state === 'creating') this.creating.set(e.container_id, at);
    else if (e.to_state === 'running' && e.from_state === 'initializing') {
      const began = this.creating.get(e.container_id);
      if (began !== undefined) this.provisioning.observe({}, (at - began) / 1000);
      this.creating.delete(e.container_id);
    } else if (e.to_state === 'error' || e.to_state === 'stopped' || e.to_state === 'exited') this.creating.delete(e.container_id);
  }

  private collectContainers(): void {
    const perContainer = ['id', 'name'];
    this.registry.collect(
      [
        { name: 'hearth_containers', help: 'Containers in each state.', type: 'gauge', labelNames: ['state'] },
        { name: 'hearth_container_state', help: "1 for each container, labelled with its state.", type: 'gauge', labelNames: [...perContainer, 'state'] },
        {
          name: 'hearth_container_restart_count',
          help: 'Restarts made by the restart policy since the last user start (it starts over at 0 then).',
          type: 'gauge',
          labelNames: perContainer,
        },
        { name: 'hearth_container_health', help: '1 for each container with a health check, labelled with its health status.', type: 'gauge', labelNames: [...perContainer, 'status'] },
        { name: 'hearth_vmms', help: 'VMM processes the manager looks after (VMs launched and not yet gone).', type: 'gauge' },
      ],
      async (emit) => {
        const containers = await this.manager.list();
        const perState = new Map<string, number>(CONTAINER_STATES.map((s) => [s, 0]));
        for (const c of containers) {
          const labels = { id: c.id, name: c.name };
          perState.set(c.state, perState.get(c.state)! + 1);
          emit('hearth_container_state', { ...labels, state: c.state }, 1);
          emit('hearth_container_restart_count', labels, c.restart_count);
          if (c.health) emit('hearth_container_health', { ...labels, status: c.health.status }, 1);
        }
        for (const [state, n] of perState) emit('hearth_containers', { state }, n);
        emit('hearth_vmms', {}, (await this.manager.listVms()).filter((vm) => vm.pid !== null).length);
        // A container deleted while it was being provisioned leaves no transition behind: forgotten here.
        const ids = new Set(containers.map((c) => c.id));
        for (const id of this.creating.keys()) if (!ids.has(id)) this.creating.delete(id);
      },
    );
  }
}
