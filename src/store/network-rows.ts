/**
 * The `networks` table: one row per network made through the Docker API (model/network.ts); `bridge` has
 * none, it always exists. Labels as JSON text, as the other tables keep their documents. `ContainerStore`
 * exposes these through its `networks` member; which containers joined a network is in their own rows.
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import { HearthError } from '../errors.ts';
import type { NetworkRecord } from '../model/index.ts';

export type NetworksTable = Omit<NetworkRecord, 'labels'> & { labels: string };

const fromRow = (r: Selectable<NetworksTable>): NetworkRecord => ({ ...r, labels: JSON.parse(r.labels) as Record<string, string> });

export class NetworkRows {
  constructor(private readonly db: Kysely<{ networks: NetworksTable }>) {}

  /** A taken name is AlreadyExists (HEARTH_ERR_NETWORK_EXISTS). */
  async insert(n: NetworkRecord): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('networks').select('name').where('name', '=', n.name).executeTakeFirst();
      if (taken) throw new HearthError('AlreadyExists', 'HEARTH_ERR_NETWORK_EXISTS', `a network named ${n.name} already exists`, { field: 'body/Name' });
      await tx.insertInto('networks').values({ ...n, labels: JSON.stringify(n.labels) }).execute();
    });
  }

  async list(): Promise<NetworkRecord[]> {
    return (await this.db.selectFrom('networks').selectAll().orderBy('created_at').orderBy('name').execute()).map(fromRow);
  }

  async get(name: string): Promise<NetworkRecord | undefined> {
    const row = await this.db.selectFrom('networks').selectAll().where('name', '=', name).executeTakeFirst();
    return row && fromRow(row);
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('networks').where('name', '=', name).execute();
  }
}
