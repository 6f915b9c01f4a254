/**
 * Docker's ways of naming a container, and the facts its shapes need beside the record. A reference is, in
 * dockerd's order: the full 64-hex id, a name (with or without its leading `/`), or a unique prefix of an
 * id; anything else is `No such container: <ref>`, and a prefix two ids share is dockerd's ambiguity error.
 * @module
 */
import type { ContainerRecord, VmRecord } from '../../model/index.ts';
import type { ImageSummary } from '../../containers/deps.ts';
import { isHearthError } from '../../errors.ts';
import { formatReference, parseReference } from '../../images/reference.ts';
import type { DockerContext } from './context.ts';
import { DockerError, noSuchContainer } from './errors.ts';
import type { ContainerFacts } from './shapes/container.ts';

export function findContainer(all: readonly ContainerRecord[], ref: string): ContainerRecord | undefined {
  if (ref === '') return undefined;
  const byId = all.find((c) => c.container_id === ref);
  if (byId) return byId;
  const name = ref.startsWith('/') ? ref.slice(1) : ref;
  const byName = all.find((c) => c.name === name);
  if (byName) return byName;
  if (!/^[0-9a-f]+$/.test(ref)) return undefined;
  const matches = all.filter((c) => c.container_id.startsWith(ref));
  if (matches.length > 1) throw new DockerError(400, `multiple IDs found with provided prefix: ${ref}`);
  return matches[0];
}

export async function resolveContainer(ctx: DockerContext, ref: string): Promise<ContainerRecord> {
  const c = findContainer(await ctx.manager.list(), ref);
  if (!c) throw noSuchContainer(ref);
  return c;
}

/**
 * Runs `f` on the container `ref` names; a container deleted in between is `No such container` too (its
 * Hearth NotFound would name the internal id).
 */
export async function withContainer<T>(ctx: DockerContext, ref: string, f: (c: ContainerRecord) => Promise<T>): Promise<T> {
  const c = await resolveContainer(ctx, ref);
  try {
    return await f(c);
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_CONTAINER_NOT_FOUND')) throw noSuchContainer(ref);
    throw e;
  }
}

/** What the shapes need for many containers at once: one image list and one VM list. */
export class FactsSource {
  private images?: Promise<ImageSummary[]>;
  private vms?: Promise<VmRecord[]>;
  private networkIds?: Promise<ReadonlyMap<string, string>>;
  private readonly configs = new Map<string, Promise<ContainerFacts['image']>>();

  constructor(private readonly ctx: DockerContext) {}

  async facts(c: ContainerRecord): Promise<ContainerFacts> {
    this.images ??= this.ctx.images.list().catch(() => []);
    this.vms ??= this.ctx.manager.listVms();
    this.networkIds ??= this.ctx.manager.networks.list().then((ns) => new Map(ns.map((n) => [n.name, n.id])));
    const [images, vms, networkIds] = await Promise.all([this.images, this.vms, this.networkIds]);
    const summary = images.find((i) => (c.image_digest ? i.manifestDigest === c.image_digest : i.refs.includes(canonical(c.image))));
    const vm = vms.find((v) => v.container_id === c.id);
    return {
      imageId: summary ? summary.configDigest : '',
      image: summary ? await this.config(summary.manifestDigest) : null,
      network: { bridge: this.ctx.config.network.bridge, gateway: vm?.gateway ?? null, prefixLength: vm?.prefix_length ?? null, mac: vm?.mac ?? null },
      pid: vm?.pid ?? null,
      restartPending: this.ctx.manager.restartPending(c.id),
      networkIds,
      now: new Date(),
    };
  }

  private config(digest: string): Promise<ContainerFacts['image']> {
    let p = this.configs.get(digest);
    if (!p) {
      p = this.ctx.images.inspect(digest).then(
        (d) => d.config,
        () => null,
      );
      this.configs.set(digest, p);
    }
    return p;
  }
}

/** `busybox` -> `docker.io/library/busybox:latest`, as the image store names references ('' if it is no reference). */
export function canonical(ref: string): string {
  try {
    return formatReference(parseReference(ref));
  } catch {
    return '';
  }
}
