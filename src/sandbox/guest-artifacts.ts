/** Where the guest kernel and initramfs built by guest/build.sh live, checked before any VM boots. */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../errors.ts';

export interface GuestArtifacts {
  kernel: string;
  /** The initramfs whose /init is the Hearth agent. */
  initramfs: string;
  /** A trivial init that powers off at once: the boot baseline and the accel probe. */
  bareInitramfs: string;
}

export const DEFAULT_CACHE_DIR = '/var/cache/hearth';

export async function locateGuestArtifacts(cacheDir: string): Promise<GuestArtifacts> {
  const dir = path.join(cacheDir, 'guest');
  const artifacts: GuestArtifacts = {
    kernel: path.join(dir, 'vmlinux'),
    initramfs: path.join(dir, 'initramfs.cpio'),
    bareInitramfs: path.join(dir, 'bare-initramfs.cpio'),
  };
  for (const file of Object.values(artifacts)) {
    try {
      await access(file);
    } catch {
      throw new HearthError(
        'FailedPrecondition',
        'HEARTH_ERR_GUEST_ARTIFACTS',
        `guest artifact ${file} is missing: run guest/build.sh (or scripts/setup.sh) with HEARTH_CACHE_DIR=${cacheDir}`,
      );
    }
  }
  return artifacts;
}
