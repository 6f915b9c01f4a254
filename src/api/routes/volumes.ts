/**
 * /v1/volumes: the schemas and one call into the manager's volume commands per route.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import type { VolumeDetails } from '../../containers/volume-commands.ts';
import { errors } from '../schemas.ts';
import { VolumeCreate, VolumeItem, VolumeParams } from '../volume-schemas.ts';

const tags = ['volumes'];
type Name = { Params: { name: string } };

/** The API's view of a volume. */
export function volumeItem(v: VolumeDetails) {
  return {
    name: v.name,
    anonymous: v.anonymous_for !== null,
    size_mib: v.size_mib,
    size_bytes: v.usage.sizeBytes,
    used_bytes: v.usage.usedBytes,
    disk_bytes: v.usage.diskBytes,
    labels: v.labels,
    initialized: v.initialized,
    containers: v.users,
    anonymous_for: v.anonymous_for,
    created_at: v.created_at,
  };
}

export function volumeRoutes(app: FastifyInstance, manager: ContainerManager): void {
  const volumes = manager.volumes;
  app.post<{ Body: VolumeCreate }>(
    '/v1/volumes',
    {
      schema: {
        tags,
        summary: 'Create a named volume',
        description: 'An empty ext4 disk of its own. A container that names a volume that does not exist creates it, as Docker does.',
        body: VolumeCreate,
        response: { 201: Type.Object({ item: VolumeItem }), ...errors(400, 409, 413, 415) },
      },
    },
    async (req, reply) => {
      const v = await volumes.create(req.body);
      return reply.status(201).header('location', `/v1/volumes/${v.name}`).send({ item: volumeItem(v) });
    },
  );

  app.get(
    '/v1/volumes',
    { schema: { tags, summary: 'List volumes, named and anonymous', response: { 200: Type.Object({ items: Type.Array(VolumeItem) }) } } },
    async () => ({ items: (await volumes.list()).map(volumeItem) }),
  );

  app.get<Name>(
    '/v1/volumes/:name',
    {
      schema: { tags, summary: 'Inspect a volume: its size, what it holds, who uses it', params: VolumeParams, response: { 200: Type.Object({ item: VolumeItem }), ...errors(400, 404) } },
    },
    async (req) => ({ item: volumeItem(await volumes.inspect(req.params.name)) }),
  );

  app.delete<Name>(
    '/v1/volumes/:name',
    {
      schema: {
        tags,
        summary: 'Delete a volume and its data',
        description: '409 while any container (in any state) uses it, naming them.',
        params: VolumeParams,
        response: { 204: Type.Null(), ...errors(400, 404, 409) },
      },
    },
    async (req, reply) => {
      await volumes.remove(req.params.name);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/volumes/prune',
    {
      schema: {
        tags,
        summary: 'Delete every volume no container uses',
        description: "Named and anonymous alike, as Docker's `docker volume prune --all`.",
        response: { 200: Type.Object({ deleted: Type.Array(Type.String()), reclaimed_bytes: Type.Integer() }) },
      },
    },
    async () => volumes.prune(),
  );
}
