/**
 * Volumes as Docker shows them (`GET /volumes`, `/volumes/{name}`, the create answer), from the manager's
 * volume records. A Hearth volume is an ext4 disk image of its own; its `Mountpoint` is that file (Docker's
 * is a directory on the host: nothing but a VM mounts Hearth's). Anonymous volumes (one per image VOLUME a
 * container does not cover) carry Docker's `com.docker.volume.anonymous` label, which is what
 * `docker volume prune` without `--all` looks for.
 * @module
 */
import type { VolumeDetails } from '../../../containers/volume-commands.ts';

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface DockerVolume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  Status?: Record<string, string>;
  UsageData: { Size: number; RefCount: number };
}

export function dockerVolume(v: VolumeDetails): DockerVolume {
  return {
    Name: v.name,
    Driver: 'local',
    Mountpoint: v.diskPath,
    CreatedAt: v.created_at,
    Labels: v.anonymous_for === null ? v.labels : { ...v.labels, [ANONYMOUS_LABEL]: '' },
    Scope: 'local',
    Options: v.driver_options,
    Status: { size: String(v.usage.sizeBytes), used: String(v.usage.usedBytes) },
    UsageData: { Size: v.usage.usedBytes, RefCount: v.users.length },
  };
}

/** Docker's `size` option (`DriverOpts.size`: `512m`, `10g`, `1073741824`) in MiB; undefined if it is not one. */
export function parseSizeMib(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const shift = { '': 0, k: 10, m: 20, g: 30, t: 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Number(m[1]) * 2 ** shift;
  return Math.ceil(bytes / 2 ** 20);
}
