/**
 * A container's tmpfs mounts (Docker's `--tmpfs PATH:OPTIONS`): their paths cleaned and checked, their options
 * checked against the few Docker's tmpfs takes, and the list the guest agent mounts with, Docker's defaults
 * (noexec, nosuid, nodev) first and the last of each pair or key winning, as moby's MergeTmpfsOptions.
 * @module
 */
import { posix } from 'node:path';
import { invalidArgument } from '../errors.ts';
import type { TmpfsMount, VolumeMount } from '../model/index.ts';
import { MOUNT_RECORD_OVERHEAD } from './process-spec.ts';

/** Docker's flags for a tmpfs, each with its opposite: the later of the two wins. */
const FLAG_PAIRS: Record<string, string> = { rw: 'ro', ro: 'rw', exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev' };
/** Data options and their values: a size or count may end in k, m, g or % (the kernel's), a mode is octal. */
const DATA_OPTIONS: Record<string, RegExp> = {
  size: /^\d{1,20}[kmg%]?$/i,
  nr_inodes: /^\d{1,20}[kmg%]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d{1,10}$/,
  gid: /^\d{1,10}$/,
};
const DOCKER_DEFAULTS = ['noexec', 'nosuid', 'nodev'];

/** The options' words, each known and well formed; a 400 naming `field` otherwise. */
function optionWords(options: string, field: string): string[] {
  if (options === '') return [];
  return options.split(',').map((word) => {
    const eq = word.indexOf('=');
    const ok = eq < 0 ? word in FLAG_PAIRS : DATA_OPTIONS[word.slice(0, eq)]?.test(word.slice(eq + 1)) === true;
    if (!ok) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `${field} ${JSON.stringify(word)} is not a tmpfs option Hearth takes: use rw, ro, exec, noexec, suid, nosuid, dev, nodev, ` +
          'size=N[k|m|g|%], mode=OCTAL, uid=N, gid=N or nr_inodes=N[k|m|g|%], comma-separated',
        field,
      );
    }
    return word;
  });
}

/** What the agent mounts with: Docker's defaults, then `options`, the last of each pair or key kept. */
export function tmpfsMountOptions(options: string): string {
  const words = [...DOCKER_DEFAULTS, ...optionWords(options, 'tmpfs options')];
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const word of words.reverse()) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? [word, FLAG_PAIRS[word]!].sort().join('/') : word.slice(0, eq);
    if (seen.has(key)) continue;
    seen.add(key);
    kept.unshift(word);
  }
  return kept.join(',');
}

const cleanPath = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');

/** The request's tmpfs mounts, paths cleaned (as volumes'), options checked; none at `/` and no two at one path. */
export function checkTmpfs(input: ReadonlyArray<{ container_path: string; options?: string }>): TmpfsMount[] {
  const paths = new Set<string>();
  return input.map((t, i) => {
    const path = cleanPath(t.container_path);
    const field = `body/tmpfs/${i}/container_path`;
    if (path === '/') throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field} ${JSON.stringify(t.container_path)} is the container's root: mount somewhere below /`, field);
    if (paths.has(path)) throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field} ${path} is the mount point of an earlier tmpfs`, field);
    paths.add(path);
    const options = t.options ?? '';
    optionWords(options, `body/tmpfs/${i}/options`);
    return { container_path: path, options };
  });
}

/** A tmpfs and a volume at one path: Docker's "Duplicate mount point". */
export function checkTmpfsVolumes(tmpfs: readonly TmpfsMount[], volumes: readonly VolumeMount[]): void {
  tmpfs.forEach((t, i) => {
    if (volumes.some((v) => v.container_path === t.container_path)) {
      const field = `body/tmpfs/${i}/container_path`;
      throw invalidArgument('HEARTH_ERR_INVALID_ARGUMENT', `${field} ${t.container_path} is also a volume's container_path: one mount per path`, field);
    }
  });
}

/** What the MOUNT records of `tmpfs` take in the RUN message, at most: a volume's and the OPTIONS record. */
export function tmpfsRecordBytes(tmpfs: readonly TmpfsMount[]): number {
  return tmpfs.reduce(
    (sum, t) => sum + MOUNT_RECORD_OVERHEAD + Buffer.byteLength(t.container_path, 'utf8') + 6 + Buffer.byteLength(tmpfsMountOptions(t.options), 'utf8'),
    0,
  );
}
