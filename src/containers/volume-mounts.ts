/**
 * What a container's volumes become when it starts: its named volumes (made on first use, as Docker makes
 * them), an anonymous volume for each entry with neither name nor host directory and each `VOLUME` directory
 * of its image that no entry covers (kept for the container's life, removed with it), its host directories (resolved against the allowed roots again:
 * their symlinks may have changed since the create), and its tmpfs mounts. Mounted parents first, as Docker orders mounts.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { ContainerRecord, VolumeRecord } from '../model/index.ts';
import type { SandboxVolume } from '../sandbox/sandbox.ts';
import { resolveHostPath } from '../volumes/host-paths.ts';
import type { ContainerContext } from './context.ts';
import { tmpfsMountOptions } from './tmpfs.ts';
import type { VolumeClaim } from './volume-claims.ts';

/** A container's volumes, ready for its VM. */
export interface PreparedMounts {
  volumes: SandboxVolume[];
  /** Named and anonymous volumes, for the claims. */
  claims: VolumeClaim[];
  /** Volumes whose first read-write use this is: initialized once the process started. */
  firstUse: string[];
}

/** The queue key of one volume's changes (its creation, its deletion); no container id has this form. */
export const volumeKey = (name: string) => `volume:${name}`;

/** The named volume `name`, made now (empty, of the default size) if it does not exist: Docker's `-v name:/path`. */
export async function ensureVolume(
  ctx: ContainerContext,
  name: string,
  create?: Partial<Pick<VolumeRecord, 'size_mib' | 'labels' | 'driver_options'>>,
): Promise<VolumeRecord> {
  return ctx.queue.run(volumeKey(name), async () => {
    const found = await ctx.store.volumes.get(name);
    if (found && !create) {
      if (!(await ctx.deps.volumes.exists(name))) await ctx.deps.volumes.create(name, found.size_mib);
      return found;
    }
    const record: VolumeRecord = {
      name,
      size_mib: create?.size_mib ?? ctx.settings.volumes.defaultSizeMib,
      labels: create?.labels ?? {},
      driver_options: create?.driver_options ?? {},
      anonymous_for: null,
      anonymous_path: null,
      initialized: false,
      created_at: new Date().toISOString(),
    };
    // The disk first: a crash between the two leaves a disk no row names, which the next start removes.
    if (!found) await ctx.deps.volumes.create(name, record.size_mib);
    await ctx.store.volumes.insert(record);
    await volumeEvent(ctx, 'volume-create', record, null);
    return record;
  });
}

const clean = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');
const depth = (p: string) => p.split('/').filter(Boolean).length;

export async function prepareMounts(ctx: ContainerContext, c: ContainerRecord, imageVolumes: readonly string[]): Promise<PreparedMounts> {
  const entries: Array<{ target: string; volume: SandboxVolume; record?: VolumeRecord }> = [];
  for (const [i, v] of c.volumes.entries()) {
    if (v.name !== null) {
      const record = await ensureVolume(ctx, v.name);
      entries.push({ target: v.container_path, record, volume: disk(ctx, record, v.container_path, v.readonly) });
    } else if (v.host_path !== null) {
      const path = await resolveHostPath(v.host_path, ctx.settings.volumes.hostRoots, `volumes/${i}/host_path`);
      entries.push({ target: v.container_path, volume: { kind: 'host', path, target: v.container_path, readOnly: v.readonly } });
    }
  }
  for (const t of c.tmpfs) {
    entries.push({ target: t.container_path, volume: { kind: 'tmpfs', target: t.container_path, options: tmpfsMountOptions(t.options), readOnly: false } });
  }
  const covered = new Set([...c.volumes, ...c.tmpfs].map((v) => v.container_path));
  const anonymous = await ctx.store.volumes.anonymousOf(c.id);
  const wanted = [
    ...c.volumes.filter((v) => v.name === null && v.host_path === null).map((v) => ({ target: v.container_path, readOnly: v.readonly })),
    ...[...new Set(imageVolumes.map(clean))].filter((p) => p !== '/' && !covered.has(p)).map((target) => ({ target, readOnly: false })),
  ];
  for (const { target, readOnly } of wanted) {
    const record = anonymous.find((a) => a.anonymous_path === target) ?? (await createAnonymous(ctx, c.id, target));
    entries.push({ target, record, volume: disk(ctx, record, target, readOnly) });
  }
  entries.sort((a, b) => depth(a.target) - depth(b.target));
  const withDisk = entries.filter((e) => e.record !== undefined);
  return {
    volumes: entries.map((e) => e.volume),
    claims: withDisk.map((e) => ({ name: e.record!.name, readonly: e.volume.readOnly })),
    firstUse: withDisk.filter((e) => e.volume.kind === 'disk' && e.volume.copyUp).map((e) => e.record!.name),
  };
}

function disk(ctx: ContainerContext, record: VolumeRecord, target: string, readOnly: boolean): SandboxVolume {
  return { kind: 'disk', path: ctx.deps.volumes.path(record.name), target, readOnly, copyUp: !record.initialized && !readOnly };
}

async function createAnonymous(ctx: ContainerContext, containerId: string, target: string): Promise<VolumeRecord> {
  const record: VolumeRecord = {
    name: randomBytes(32).toString('hex'),
    size_mib: ctx.settings.volumes.defaultSizeMib,
    labels: {},
    driver_options: {},
    anonymous_for: containerId,
    anonymous_path: target,
    initialized: false,
    created_at: new Date().toISOString(),
  };
  await ctx.deps.volumes.create(record.name, record.size_mib);
  await ctx.store.volumes.insert(record);
  await volumeEvent(ctx, 'volume-create', record, containerId);
  return record;
}

/** A volume made or deleted, in the event log; an anonymous one's event is its container's too. */
export async function volumeEvent(ctx: ContainerContext, type: 'volume-create' | 'volume-delete', v: VolumeRecord, containerId: string | null): Promise<void> {
  const what = `${type === 'volume-create' ? 'created' : 'deleted'} ${v.anonymous_for ? 'anonymous ' : ''}volume ${v.name}`;
  await ctx.store.addEvent({ container_id: containerId, volume: v.name, type, from_state: null, to_state: null, message: what });
}

/** The container is deleted: its anonymous volumes go (row first: a disk no row names is an orphan to sweep). */
export async function removeAnonymous(ctx: ContainerContext, containerId: string): Promise<void> {
  for (const v of await ctx.store.volumes.anonymousOf(containerId)) {
    await ctx.queue.run(volumeKey(v.name), async () => {
      await ctx.store.volumes.delete(v.name);
      await ctx.deps.volumes.remove(v.name);
      // Not the container's: it is being deleted, and its events with it.
      await volumeEvent(ctx, 'volume-delete', v, null);
    });
  }
}

/**
 * Read-only volumes nobody else has attached get a journal a killed VM left replayed (volume-disks.ts);
 * after the claim, so no VM can attach them read-write meanwhile.
 */
export async function prepareReadOnly(ctx: ContainerContext, containerId: string, claims: readonly VolumeClaim[]): Promise<void> {
  for (const claim of claims.filter((c) => c.readonly)) {
    const shared = ctx.runs.runs().some((r) => r.containerId !== containerId && !r.finished && r.volumes.some((v) => v.name === claim.name));
    if (!shared) await ctx.deps.volumes.prepareReadOnly(claim.name);
  }
}
