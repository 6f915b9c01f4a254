/**
 * Which VM template a VM can resume from (vm-templates.ts): the shape its configuration gives, with its disks
 * at their sizes. The guest saw the template's stand-in disks at boot and keeps their sizes, so each real disk
 * must have its stand-in's: the image disk, whose size is the image's, is first grown (sparsely: no space is
 * taken, and the filesystem on it keeps its own size) to its size class, so that a few templates serve every
 * image. A VM with host directories shared (virtio-fs) has no template: QEMU cannot save a vhost-user device.
 * @module
 */
import { stat, truncate } from 'node:fs/promises';
import type { VmConfig } from '../vmm/driver.ts';
import type { TemplateShape } from './vm-templates.ts';

const SMALLEST_IMAGE_CLASS = 2 ** 30;

/** The smallest power of two at or above `bytes`, and at least 1 GiB. */
export function imageSizeClass(bytes: number): number {
  let size = SMALLEST_IMAGE_CLASS;
  while (size < bytes) size *= 2;
  return size;
}

/** The VM's template shape, its image disk (drive `rootfs`) grown to its class first; undefined when it can have none. */
export async function templateShape(config: VmConfig): Promise<TemplateShape | undefined> {
  if ((config.shares ?? []).length > 0) return undefined;
  const drives: TemplateShape['drives'] = [];
  for (const d of config.drives) {
    let { size } = await stat(d.path);
    if (d.id === 'rootfs' && size !== imageSizeClass(size)) {
      size = imageSizeClass(size);
      await truncate(d.path, size);
    }
    drives.push({ id: d.id, serial: d.serial, readOnly: d.readOnly, sizeBytes: size });
  }
  return { vcpus: config.vcpus, memoryMib: config.memoryMib, drives, nic: config.nics.length > 0 };
}
