/**
 * The volume API behind `ContainerManager.volumes`: create, list, inspect, delete and prune. A volume is in
 * use while any container (in any state, as Docker counts) names it or, anonymous, belongs to it: such a
 * volume is not deleted (FailedPrecondition, a 409) nor pruned. Each change to a volume is a task on its
 * own queue (volume-mounts.ts `volumeKey`), so a delete and a container's first use of the name do not
 * interleave.
 * @module
 */
import { failedPrecondition, notFound } from '../errors.ts';
import type { ContainerRecord, ContainerState, VolumeRecord } from '../model/index.ts';
import type { ContainerContext } from './context.ts';
import type { VolumeUsage } from './deps.ts';
import { ensureVolume, volumeEvent, volumeKey } from './volume-mounts.ts';

/** A container that uses a volume, and how. */
export interface VolumeUser {
  id: string;
  name: string;
  state: ContainerState;
  container_path: string;
  readonly: boolean;
}

export interface VolumeDetails extends VolumeRecord {
  usage: VolumeUsage;
  users: VolumeUser[];
  /** Its disk image on the host. */
  diskPath: string;
}

export interface PruneResult {
  deleted: string[];
  /** Host bytes the deleted disks took. */
  reclaimed_bytes: number;
}

export class VolumeCommands {
  constructor(
    private readonly ctx: ContainerContext,
    /** The manager's gate for commands: open, and the start's sweep of orphaned disks done. */
    private readonly ready: () => Promise<void>,
  ) {}

  /** A new named volume; AlreadyExists (409) for a name taken. */
  async create(input: { name: string; size_mib?: number; labels?: Record<string, string>; driver_options?: Record<string, string> }): Promise<VolumeDetails> {
    await this.ready();
    const record = await ensureVolume(this.ctx, input.name, {
      size_mib: input.size_mib ?? this.ctx.settings.volumes.defaultSizeMib,
      labels: input.labels ?? {},
      driver_options: input.driver_options ?? {},
    });
    return this.details(record, []);
  }

  async list(): Promise<VolumeDetails[]> {
    const containers = await this.ctx.store.listContainers();
    return Promise.all((await this.ctx.store.volumes.list()).map((v) => this.details(v, containers)));
  }

  async inspect(name: string): Promise<VolumeDetails> {
    return this.details(await this.get(name), await this.ctx.store.listContainers());
  }

  /** Deletes a volume no container uses (FailedPrecondition HEARTH_ERR_VOLUME_IN_USE otherwise, naming them). */
  async remove(name: string): Promise<void> {
    await this.ready();
    await this.ctx.queue.run(volumeKey(name), async () => {
      const v = await this.get(name);
      const users = usersOf(v, await this.ctx.store.listContainers());
      if (users.length > 0) {
        const list = users.map((u) => `${u.name} (${u.id}, ${u.state})`).join(', ');
        throw failedPrecondition(
          'HEARTH_ERR_VOLUME_IN_USE',
          `volume ${name} is in use by container${users.length > 1 ? 's' : ''} ${list}: delete ${users.length > 1 ? 'them' : 'it'} first (or give ${users.length > 1 ? 'them' : 'it'} other volumes with PUT)`,
        );
      }
      await this.drop(v);
    });
  }

  /** Deletes every volume no container uses (Docker's `docker volume prune --all`). */
  async prune(): Promise<PruneResult> {
    await this.ready();
    const result: PruneResult = { deleted: [], reclaimed_bytes: 0 };
    for (const v of await this.ctx.store.volumes.list()) {
      await this.ctx.queue.run(volumeKey(v.name), async () => {
        const now = await this.ctx.store.volumes.get(v.name);
        if (!now || usersOf(now, await this.ctx.store.listContainers()).length > 0) return;
        const bytes = (await this.ctx.deps.volumes.usage(v.name).catch(() => undefined))?.diskBytes ?? 0;
        await this.drop(now);
        result.deleted.push(v.name);
        result.reclaimed_bytes += bytes;
      });
    }
    return result;
  }

  private async get(name: string): Promise<VolumeRecord> {
    const v = await this.ctx.store.volumes.get(name);
    if (!v) throw notFound('HEARTH_ERR_VOLUME_NOT_FOUND', `no volume named ${name}`);
    return v;
  }

  /** The row first: a disk no row names is an orphan, which the next start removes. */
  private async drop(v: VolumeRecord): Promise<void> {
    await this.ctx.store.volumes.delete(v.name);
    await this.ctx.deps.volumes.remove(v.name);
    await volumeEvent(this.ctx, 'volume-delete', v, null);
  }

  private async details(v: VolumeRecord, containers: readonly ContainerRecord[]): Promise<VolumeDetails> {
    const usage = await this.ctx.deps.volumes.usage(v.name).catch(() => ({ sizeBytes: v.size_mib * 2 ** 20, usedBytes: 0, diskBytes: 0 }));
    return { ...v, usage, users: usersOf(v, containers), diskPath: this.ctx.deps.volumes.path(v.name) };
  }
}

function usersOf(v: VolumeRecord, containers: readonly ContainerRecord[]): VolumeUser[] {
  const users: VolumeUser[] = [];
  for (const c of containers) {
    const mount = c.volumes.find((m) => m.name === v.name);
    if (mount) users.push({ id: c.id, name: c.name, state: c.state, container_path: mount.container_path, readonly: mount.readonly });
    else if (v.anonymous_for === c.id) users.push({ id: c.id, name: c.name, state: c.state, container_path: v.anonymous_path ?? '', readonly: false });
  }
  return users;
}
