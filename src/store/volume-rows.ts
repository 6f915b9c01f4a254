/**
 * The `volumes` table: one row per volume, named or anonymous (model/volume.ts). Labels and driver options as JSON text and
 * `initialized` as 0/1, as the containers table keeps its documents and flags, so both dialects serve.
 * `ContainerStore` exposes these through its `volumes` member.
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import { HearthError } from '../errors.ts';
import type { VolumeRecord } from '../model/index.ts';

export type VolumesTable = Omit<VolumeRecord, 'labels' | 'driver_options' | 'initialized'> & { labels: string; driver_options: string; initialized: number };

function fromRow(r: Selectable<VolumesTable>): VolumeRecord {
  return {
    ...r,
    labels: JSON.parse(r.labels) as Record<string, string>,
    driver_options: JSON.parse(r.driver_options) as Record<string, string>,
    initialized: Boolean(r.initialized),
  };
}

export class VolumeRows {
  constructor(private readonly db: Kysely<{ volumes: VolumesTable }>) {}

  /** A taken name is AlreadyExists (HEARTH_ERR_VOLUME_EXISTS). */
  async insert(v: VolumeRecord): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('volumes').select('name').where('name', '=', v.name).executeTakeFirst();
      if (taken) {
        throw new HearthError('AlreadyExists', 'HEARTH_ERR_VOLUME_EXISTS', `a volume named ${v.name} already exists`, { field: 'body/name' });
      }
      await tx
        .insertInto('volumes')
        .values({ ...v, labels: JSON.stringify(v.labels), driver_options: JSON.stringify(v.driver_options), initialized: v.initialized ? 1 : 0 })
        .execute();
    });
  }

  async get(name: string): Promise<VolumeRecord | undefined> {
    const row = await this.db.selectFrom('volumes').selectAll().where('name', '=', name).executeTakeFirst();
    return row && fromRow(row);
  }

  async list(): Promise<VolumeRecord[]> {
    return (await this.db.selectFrom('volumes').selectAll().orderBy('created_at').orderBy('name').execute()).map(fromRow);
  }

  /** The anonymous volumes of a container. */
  async anonymousOf(containerId: string): Promise<VolumeRecord[]> {
    return (await this.db.selectFrom('volumes').selectAll().where('anonymous_for', '=', containerId).orderBy('name').execute()).map(fromRow);
  }

  async markInitialized(name: string): Promise<void> {
    await this.db.updateTable('volumes').set({ initialized: 1 }).where('name', '=', name).execute();
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('volumes').where('name', '=', name).execute();
  }
}
