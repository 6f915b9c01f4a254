/**
 * Names on networks, through /etc/hosts: a container on a network (model/network.ts) finds every container
 * on it that has an address by its name and its aliases there (Compose gives each its service name), as
 * Docker's embedded DNS answers on a user-defined network. The file is written at boot (the RUN message's
 * hosts record) and rewritten in the running containers of a network when one of them starts or ends (its
 * address comes or goes: an address given back may go to another container), joins or leaves it, or is
 * deleted (a copy-in of one file, so the image needs no shell). On `bridge` names are not resolved, as on
 * Docker's default bridge.
 * @module
 */
import { Readable } from 'node:stream';
import { describeError } from '../errors.ts';
import { DEFAULT_NETWORK, ENDED_STATES, HOST_GATEWAY, hostnameOf, type ContainerRecord, type EventRecord } from '../model/index.ts';
import type { ContainerContext } from './context.ts';
import { oneFileTar } from './one-file-tar.ts';
import { hostsFile } from './process-spec.ts';

/**
 * The lines after the standard ones in `c`'s /etc/hosts: its own address and hostname, then each container
 * that shares a network with it (itself included) and has an address, with its name and its aliases on
 * those networks, then its own extra hosts (`host-gateway`: `gateway`, its bridge's address), last as
 * Docker appends them.
 */
export function hostLines(c: ContainerRecord, all: readonly ContainerRecord[], gateway: string | undefined): string[] {
  return [...peerLines(c, all), ...c.extra_hosts.map((h) => `${h.ip === HOST_GATEWAY ? gateway : h.ip}\t${h.hostname}`)];
}

function peerLines(c: ContainerRecord, all: readonly ContainerRecord[]): string[] {
  const lines = c.guest_ip ? [`${c.guest_ip}\t${hostnameOf(c)}`] : [];
  const mine = new Set(c.networks.map((m) => m.network).filter((n) => n !== DEFAULT_NETWORK));
  if (mine.size === 0) return lines;
  for (const peer of all.map((p) => (p.id === c.id ? c : p))) {
    const shared = peer.networks.filter((m) => mine.has(m.network));
    if (shared.length === 0 || !peer.guest_ip) continue;
    const names = new Set([peer.name, ...shared.flatMap((m) => m.aliases)]);
    lines.push(`${peer.guest_ip}\t${[...names].join(' ')}`);
  }
  return lines;
}

/**
 * Rewrites /etc/hosts in every running container on any of `networks` (and in container `also`, which may
 * have just left them), from what the store says now. A container that cannot be reached is left as it is
 * (logged): it catches up at its next start.
 */
export async function refreshPeerHosts(ctx: ContainerContext, networks: Iterable<string>, also?: string): Promise<void> {
  const wanted = new Set([...networks].filter((n) => n !== DEFAULT_NETWORK));
  if (wanted.size === 0) return;
  const all = await ctx.store.listContainers();
  for (const c of all) {
    if (c.id !== also && !c.networks.some((m) => wanted.has(m.network))) continue;
    const run = ctx.runs.run(c.id);
    if (c.state !== 'running' || !run?.sandbox || !run.started || run.finished) continue;
    const hosts = hostsFile(hostnameOf(c), hostLines(c, all, run.attachment?.gateway));
    try {
      await run.sandbox.copyIn('/etc', Readable.from([oneFileTar('hosts', hosts)]));
    } catch (e) {
      ctx.log.warn({ container: c.id, err: e }, `could not rewrite /etc/hosts of ${c.name}: ${describeError(e)}`);
    }
  }
}

/**
 * Keeps the peers' files true as runs start and end: a container that reached `running` or whose run ended
 * has its networks' running containers rewritten (it did not know of them at boot, or its address is gone).
 * Returns how to stop listening.
 */
export function followPeerHosts(ctx: ContainerContext): () => void {
  return ctx.store.onEvent((e: EventRecord) => {
    if (e.type !== 'state' || e.from_state === null || !e.container_id || !e.to_state) return;
    const started = e.to_state === 'running' && (e.from_state === 'booting' || e.from_state === 'initializing');
    if (!started && !ENDED_STATES.has(e.to_state)) return;
    const id = e.container_id;
    void (async () => {
      const c = await ctx.store.getContainer(id);
      if (c && c.networks.length > 0 && !ctx.closing) await refreshPeerHosts(ctx, c.networks.map((m) => m.network));
    })().catch((err: unknown) => ctx.log.warn({ err, container: id }, `could not tell a container's peers of its address: ${describeError(err)}`));
  });
}
