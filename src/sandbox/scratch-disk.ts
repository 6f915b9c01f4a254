/**
 * Each VM's writable layer is an ext4 disk. Formatting one per VM would cost a mkfs run each time;
 * instead one empty, sparse template per size is made once and copied sparsely (a few ms).
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { isAlive } from '../vmm/process.ts';
import path from 'node:path';
import { copySparse } from '../tools/cp.ts';
import { formatEmptyExt4 } from '../tools/mkfs-ext4.ts';

export class ScratchDisks {
  private readonly templates = new Map<number, Promise<string>>();

  constructor(private readonly templateDir: string) {}

  /** Copies under a temporary name and renames, so a crash never leaves a truncated disk to be reused. */
  async create(destination: string, sizeMib: number): Promise<void> {
    const partial = `${destination}.${process.pid}.partial`;
    try {
      await copySparse(await this.template(sizeMib), partial);
      await rename(partial, destination);
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** `create` unless `destination` exists; its directory is made (private) if missing. */
  async ensure(destination: string, sizeMib: number): Promise<void> {
    if (await stat(destination).then(() => true, () => false)) return;
    await mkdir(path.dirname(destination), { recursive: true, mode: 0o700 });
    await this.create(destination, sizeMib);
  }

  private template(sizeMib: number): Promise<string> {
    let made = this.templates.get(sizeMib);
    if (!made) {
      made = this.makeTemplate(sizeMib);
      made.catch(() => this.templates.delete(sizeMib));
      this.templates.set(sizeMib, made);
    }
    return made;
  }

  private async makeTemplate(sizeMib: number): Promise<string> {
    const file = path.join(this.templateDir, `scratch-${sizeMib}m.ext4`);
    const exists = await stat(file).then(() => true, () => false);
    if (exists) return file;
    await mkdir(this.templateDir, { recursive: true });
    await this.removeAbandoned();
    // Built under a temporary name and renamed, so a crash never leaves a half-made template in use.
    const partial = `${file}.${process.pid}.partial`;
    try {
      await formatEmptyExt4(partial, sizeMib);
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
    return file;
  }

  /**
   * Templates half-made by a process that died (their names carry its pid): the directory is shared by
   * every manager on the host, so only a dead process's are removed.
   */
  private async removeAbandoned(): Promise<void> {
    for (const name of await readdir(this.templateDir).catch(() => [] as string[])) {
      const pid = /\.(\d+)\.partial$/.exec(name)?.[1];
      if (pid !== undefined && !(await isAlive(Number(pid)))) await rm(path.join(this.templateDir, name), { force: true });
    }
  }
}
