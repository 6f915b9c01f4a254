/**
 * virtiofsd (QEMU 7.2's, Debian's qemu-system-common: /usr/lib/qemu/virtiofsd): serves one host directory
 * to one VM over a vhost-user socket. It runs as root, so it can act for whichever user of the guest asks
 * (as a bind mount does in Docker), and confines itself: it pivots into the shared directory in mount, pid
 * and network namespaces of its own, with a seccomp filter. It ends when its VMM disconnects.
 *
 * It is started through `unshare` in a mount namespace of its own where the directory is bind-mounted onto
 * itself `nodev,nosuid` (and `ro` when read-only) before virtiofsd runs: a guest that remounts its side
 * read-write still gets EROFS from the host, and a device node a guest makes in the directory never opens
 * a host device through virtiofsd. The host's own view of the directory is untouched.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';

const CANDIDATES = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'];
/** The line virtiofsd logs once its socket listens (QEMU may connect from then on). */
export const VIRTIOFSD_LISTENING = 'Waiting for vhost-user socket connection';

/** The installed virtiofsd, or undefined. */
export async function locateVirtiofsd(): Promise<string | undefined> {
  for (const p of CANDIDATES) {
    if (await access(p).then(() => true, () => false)) return p;
  }
  return undefined;
}

export interface VirtiofsdShare {
  binary: string;
  /** The host directory, absolute and resolved (no symlinks). */
  directory: string;
  socket: string;
  readOnly: boolean;
}

/**
 * The argv (program first): the private read-only or nodev bind, then virtiofsd in the foreground. The
 * cache mode is virtiofsd's default (`auto`): the guest caches what it reads and checks again after a
 * second, so a change made on the host shows within a second.
 */
export function virtiofsdArgv(share: VirtiofsdShare): string[] {
  const options = share.readOnly ? 'ro,nodev,nosuid' : 'nodev,nosuid';
  return [
    'unshare', '--mount', '--propagation', 'private', '--',
    // The paths are arguments, never part of the script.
    'sh', '-c', 'mount --bind -o "$1" -- "$2" "$2" && shift 2 && exec "$@"', 'hearth-virtiofsd', options, share.directory,
    share.binary, '-f', `--socket-path=${share.socket}`, '-o', `source=${share.directory}`, '-o', 'cache=auto',
  ];
}

/**
 * Starts virtiofsd in its own session, its messages appended to `logFd`, with only `env` (a tag to find it
 * by in /proc): like a VMM, it outlives the manager that started it.
 */
export function spawnVirtiofsd(share: VirtiofsdShare, logFd: number, env: Record<string, string>): ChildProcess {
  const [program, ...args] = virtiofsdArgv(share);
  const child = spawn(program!, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
  });
  child.unref();
  return child;
}
