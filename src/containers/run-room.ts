/**
 * Whether a container's settings fit the guest's RUN message: refused at create and `PUT` rather than failing
 * in the guest at start.
 * @module
 */
import { invalidArgument } from '../errors.ts';
import type { ContainerSpec } from '../model/index.ts';
import { MOUNT_RECORD_OVERHEAD, mountRecordBytes, REQUEST_RUN_BYTES_MAX, RUN_RESERVE_BYTES, requestRunBytes, settingsRunBytes } from './process-spec.ts';
import { tmpfsRecordBytes } from './tmpfs.ts';

/**
 * The process goes to the guest in one RUN message of at most 1 MiB; args and env_vars may take all of it
 * but what is kept for the image and the manager. A create or update that could never start is refused
 * here rather than failing in the guest. The field named is the largest of those `input` (the request) gave.
 */
export function checkRunRoom(spec: ContainerSpec, input: Partial<Record<'args' | 'env_vars' | 'volumes' | 'tmpfs' | 'entrypoint' | 'extra_hosts', unknown>>): void {
  const size = requestRunBytes(spec.args, spec.env_vars, { tty: spec.tty, stdinOpen: spec.stdin_open });
  const volumes = mountRecordBytes(spec.volumes.map((v) => v.container_path));
  const tmpfs = tmpfsRecordBytes(spec.tmpfs);
  const settings = settingsRunBytes(spec);
  const total = size.args + size.env + size.stdio + volumes + tmpfs + settings.entrypoint + settings.extra_hosts + settings.other;
  if (total <= REQUEST_RUN_BYTES_MAX) return;
  const given = (['args', 'env_vars', 'volumes', 'tmpfs', 'entrypoint', 'extra_hosts'] as const).filter((f) => input[f] !== undefined);
  const bytes = { args: size.args, env_vars: size.env, volumes, tmpfs, entrypoint: settings.entrypoint, extra_hosts: settings.extra_hosts };
  const field = given.length === 0 ? 'args' : given.reduce((a, b) => (bytes[b] > bytes[a] ? b : a));
  throw invalidArgument(
    'HEARTH_ERR_INVALID_ARGUMENT',
    `body/${field} is too large for the guest: args (${size.args} bytes), env_vars (${size.env} bytes), volumes (${volumes} bytes) and tmpfs (${tmpfs} bytes) take ` +
      `${total} bytes of the guest's RUN message (with ${size.stdio} for tty and stdin_open, and ` +
      `${settings.entrypoint + settings.extra_hosts + settings.other} for the entrypoint, user, working_dir, extra_hosts and dns), counting 6 bytes more ` +
      `than its UTF-8 text for each arg and each NAME=value, ${MOUNT_RECORD_OVERHEAD} more than its container_path for each volume, and ` +
      `${MOUNT_RECORD_OVERHEAD + 6} more than its container_path and options (with Docker's defaults) for each tmpfs; ` +
      `a container may use ${REQUEST_RUN_BYTES_MAX} (the protocol's 1 MiB less ${RUN_RESERVE_BYTES} ` +
      `kept for the image and the manager): use fewer or shorter args, env_vars, volumes or tmpfs mounts`,
    `body/${field}`,
  );
}
