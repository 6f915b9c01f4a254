/**
 * The volume API's TypeBox schemas (routes/volumes.ts). Shared pieces come from ./schemas.ts.
 * @module
 */
import { Type, type Static } from '@sinclair/typebox';
import { NoNul, Nullable, State, Time, VolumeName } from './schemas.ts';

export const VolumeCreate = Type.Object(
  {
    name: VolumeName,
    size_mib: Type.Optional(
      Type.Integer({
        minimum: 16,
        maximum: 1024 * 1024,
        description: 'Capacity of its disk (sparse: only what is written takes space). Default: `volumes.defaultSizeMib` (10240).',
      }),
    ),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), NoNul(4096), { maxProperties: 64 })),
  },
  { additionalProperties: false },
);
export type VolumeCreate = Static<typeof VolumeCreate>;

export const VolumeItem = Type.Object({
  name: Type.String(),
  anonymous: Type.Boolean({ description: "One of a container's image `VOLUME`s: removed with the container." }),
  size_mib: Type.Integer(),
  size_bytes: Type.Integer({ description: "The filesystem's capacity." }),
  used_bytes: Type.Integer({
    description: 'What its files and directories take, as of the filesystem\'s last superblock write (at a `sync` or unmount in the guest).',
  }),
  disk_bytes: Type.Integer({ description: 'What its sparse disk image takes on the host.' }),
  labels: Type.Record(Type.String(), Type.String()),
  initialized: Type.Boolean({ description: "Its first read-write use copied in the image directory's content (Docker's copy into a new volume)." }),
  containers: Type.Array(
    Type.Object({
      id: Type.String({ format: 'uuid' }),
      name: Type.String(),
      state: State,
      container_path: Type.String(),
      readonly: Type.Boolean(),
    }),
    { description: 'Containers that use it, in any state: a volume in use is not deleted or pruned.' },
  ),
  anonymous_for: Nullable(Type.String({ format: 'uuid' })),
  created_at: Time,
});

export const VolumeParams = Type.Object({ name: VolumeName }, { additionalProperties: false });
