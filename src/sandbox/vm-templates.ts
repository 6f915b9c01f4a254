/**
 * VM templates: for each shape of VM (vCPUs, memory, its disks' sizes, a NIC or not), a VM booted once to
 * where its agent waits for RUN and saved there; a container of that shape resumes from the saved state
 * instead of booting (docs/snapshots.md). The template depends on no image: its disks are stand-ins of the
 * right sizes, each clone gets its own files at the same places, and its agent makes it its own machine from
 * RUN (address, MAC, random seed, clock).
 *
 * A template lives in `<dir>/<key>/`: `ram` (the guest's RAM, which its clones map copy-on-write) and `state`
 * (its devices), the key a hash of everything the state depends on (the guest kernel and initramfs, the VMM and
 * its settings, the shape), so one whose inputs changed is never used: a new one is built under the new key
 * and the old ones are removed. A template is built in a directory of its own and renamed into place whole.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HearthError, describeError } from '../errors.ts';
import type { DriveConfig, SavedVm, VmmDriver, VmProcess } from '../vmm/driver.ts';
import { isAlive } from '../vmm/process.ts';
import type { GuestArtifacts } from './guest-artifacts.ts';

/** Bumped when what a template holds or how it is made changes, so older ones are not used. */
const FORMAT = 4;
/** A template VM's agent must be waiting for a host within this. */
const BOOT_TIMEOUT_MS = 60_000;
/** A shape whose template could not be built is not tried again for this long (containers boot cold). */
const RETRY_AFTER_MS = 10 * 60_000;
/** A template being built is in `<key><BUILDING><pid of its builder>-<random>` until it is whole. */
const BUILDING = '.building-';
/** A template being removed is renamed to `<key><DISCARDED>...` first. */
const DISCARDED = '.discarded-';
/** The MAC of every template's NIC; each clone's agent sets its own. */
const TEMPLATE_MAC = '02:00:00:00:00:01';

export interface TemplateShape {
  vcpus: number;
  memoryMib: number;
  /** In the order they are attached; the guest finds them by serial. */
  drives: Array<{ id: string; serial: string; readOnly: boolean; sizeBytes: number }>;
  nic: boolean;
}

export interface VmTemplate {
  key: string;
  saved: SavedVm;
  /** Which build of the key it is (a random id in its template.json): a discard removes only that one. */
  build: string;
}

export interface VmTemplatesOptions {
  /** Where templates are kept (shared by the managers of a host: each is written whole, then renamed). */
  dir: string;
  /** Where a template's VM runs while it is built (the manager's VM directory, so a crash leaves nothing the sweep does not find). */
  vmsDir: string;
  driver: VmmDriver;
  guest: GuestArtifacts;
}

export class VmTemplates {
  private readonly flights = new Map<string, Promise<VmTemplate>>();
  private readonly failed = new Map<string, { at: number; error: unknown }>();
  private inputs: Promise<string> | undefined;
  private pruned = false;

  constructor(private readonly options: VmTemplatesOptions) {}

  /**
   * The template for `shape`, built first if there is none (one build at a time per shape). Fails with
   * HEARTH_ERR_TEMPLATE when it cannot be built; the same shape is then not tried again for a while.
   */
  async ensure(shape: TemplateShape): Promise<VmTemplate> {
    const key = await this.keyOf(shape);
    const failure = this.failed.get(key);
    if (failure && Date.now() - failure.at < RETRY_AFTER_MS) {
      throw new HearthError('Unavailable', 'HEARTH_ERR_TEMPLATE', `no VM template for this shape: building it failed ${Math.round((Date.now() - failure.at) / 1000)} s ago: ${describeError(failure.error)}`);
    }
    const saved = savedIn(path.join(this.options.dir, key));
    const found = await builtAt(saved);
    if (found !== undefined) return { key, saved, build: found };
    let flight = this.flights.get(key);
    if (!flight) {
      flight = this.build(key, shape, saved).finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  /** Forgets a template that failed to restore, so the next container of its shape builds it anew. */
  async discard(template: VmTemplate): Promise<void> {
    this.options.driver.forgetSaved(template.saved);
    // Another manager may have built the key anew meanwhile: that build is not the one that failed.
    if ((await builtAt(template.saved)) === template.build) await this.remove(path.basename(path.dirname(template.saved.state)));
  }

  /**
   * Builds the template in a directory of this process's, then renames the whole directory into place: its RAM
   * and its state always belong together, even when several managers build the same template at once (the
   * first to finish wins; the others drop theirs).
   */
  private async build(key: string, shape: TemplateShape, saved: SavedVm): Promise<VmTemplate> {
    const dir = path.dirname(saved.state);
    const building = `${dir}${BUILDING}${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      if (!this.pruned) await this.prune();
      await mkdir(building, { recursive: true });
      await this.bootAndSave(key, shape, savedIn(building));
      const meta: TemplateMeta = { format: FORMAT, shape, inputs: await this.inputsHash(), build: randomBytes(8).toString('hex') };
      await writeFile(path.join(building, 'template.json'), JSON.stringify(meta));
      await rename(building, dir).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        // Another manager's build is there (it won), or something that is no whole template, which goes.
        if ((await builtAt(saved)) !== undefined) return;
        await this.remove(key);
        await rename(building, dir);
      });
      this.failed.delete(key);
      const built = await builtAt(saved);
      if (built === undefined) throw new Error(`the template vanished from ${dir} as it was built`);
      return { key, saved, build: built };
    } catch (e) {
      this.failed.set(key, { at: Date.now(), error: e });
      throw new HearthError('Unavailable', 'HEARTH_ERR_TEMPLATE', `building a VM template failed: ${describeError(e)}`, { cause: e });
    } finally {
      await rm(building, { recursive: true, force: true });
    }
  }

  /**
   * Boots the template VM with its RAM in `target.memory` and saves its devices' state to `target.state` once
   * its agent waits. The VMM (jailed, its own uid) may write the RAM only while it runs.
   */
  private async bootAndSave(key: string, shape: TemplateShape, target: SavedVm): Promise<void> {
    const { driver, guest } = this.options;
    const id = `template-${key.slice(0, 16)}-${path.basename(path.dirname(target.state)).slice(-8)}`;
    const runDir = path.join(this.options.vmsDir, id);
    await rm(runDir, { recursive: true, force: true });
    await mkdir(runDir, { recursive: true });
    let vm: VmProcess | undefined;
    try {
      const drives: DriveConfig[] = [];
      for (const d of shape.drives) {
        // Stand-ins of the real disks' sizes: sparse, never read by anything but the kernel's partition scan.
        const file = path.join(runDir, `${d.id}.standin`);
        await writeFile(file, '');
        await truncate(file, d.sizeBytes);
        drives.push({ id: d.id, path: file, readOnly: d.readOnly, serial: d.serial });
      }
      vm = await driver.start({
        id,
        runDir,
        vcpus: shape.vcpus,
        memoryMib: shape.memoryMib,
        kernelPath: guest.kernel,
        initrdPath: guest.initramfs,
        kernelArgs: [],
        drives,
        nics: shape.nic ? [{ id: 'net0', mac: TEMPLATE_MAC }] : [],
        memoryFile: target.memory,
      });
      await agentWaiting(vm);
      await vm.saveState(target.state);
      await vm.terminate();
      vm = undefined;
      await chown(target.memory, 0, 0);
      await chmod(target.memory, 0o600);
    } finally {
      await vm?.terminate().catch(() => undefined);
      await driver.destroy(runDir).catch(() => undefined);
      await rm(runDir, { recursive: true, force: true });
    }
  }

  private async keyOf(shape: TemplateShape): Promise<string> {
    return createHash('sha256').update(JSON.stringify({ format: FORMAT, inputs: await this.inputsHash(), shape })).digest('hex').slice(0, 32);
  }

  /** The guest kernel and initramfs by content, and what the VMM's saved states depend on. */
  private inputsHash(): Promise<string> {
    this.inputs ??= (async () => {
      const hash = createHash('sha256');
      for (const file of [this.options.guest.kernel, this.options.guest.initramfs]) hash.update(await fileHash(file));
      hash.update(await this.options.driver.stateInputs());
      return hash.digest('hex');
    })();
    return this.inputs;
  }

  /** Templates made from other inputs (an older kernel, initramfs or VMM) or by an older format are of no use any more. */
  private async prune(): Promise<void> {
    this.pruned = true;
    const current = await this.inputsHash();
    for (const name of await readdir(this.options.dir).catch(() => [] as string[])) {
      if (name.includes(DISCARDED)) {
        await rm(path.join(this.options.dir, name), { recursive: true, force: true });
        continue;
      }
      // A build whose manager is gone (killed mid-build) is removed; one still running may be another manager's.
      const builder = name.includes(BUILDING) ? Number.parseInt(name.slice(name.indexOf(BUILDING) + BUILDING.length), 10) : undefined;
      if (builder !== undefined) {
        if (!(await isAlive(builder))) await rm(path.join(this.options.dir, name), { recursive: true, force: true });
        continue;
      }
      const meta = await readFile(path.join(this.options.dir, name, 'template.json'), 'utf8').catch(() => undefined);
      if (meta === undefined || isCurrent(meta, current)) continue;
      this.options.driver.forgetSaved(savedIn(path.join(this.options.dir, name)));
      await this.remove(name);
    }
  }

  /**
   * Removes the template directory `name`: first renamed aside, so that a process killed halfway through
   * never leaves part of a template under its key (the next prune removes what is aside).
   */
  private async remove(name: string): Promise<void> {
    const aside = path.join(this.options.dir, `${name}${DISCARDED}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(path.join(this.options.dir, name), aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    await rm(aside, { recursive: true, force: true });
  }
}

/**
 * Resolves once the template VM's agent waits for a host: it has opened its end of the control channel, and
 * its greeting waits for a connection (which each clone's host makes).
 */
async function agentWaiting(vm: VmProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      vm.controlOpened(),
      vm.exited.then(({ reason }) => Promise.reject(new Error(`the template VM ended: ${reason}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the template VM's agent did not open its channel within ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What template.json says of a template. */
interface TemplateMeta {
  format: number;
  shape: TemplateShape;
  inputs: string;
  build: string;
}

/** The build id of the template `saved` is part of, when it is there whole; else undefined. */
async function builtAt(saved: SavedVm): Promise<string | undefined> {
  const [meta, state, memory] = await Promise.all([
    readFile(path.join(path.dirname(saved.state), 'template.json'), 'utf8').catch(() => undefined),
    exists(saved.state),
    exists(saved.memory),
  ]);
  if (meta === undefined || !state || !memory) return undefined;
  try {
    const build = (JSON.parse(meta) as Partial<TemplateMeta>).build;
    return typeof build === 'string' ? build : undefined;
  } catch {
    return undefined;
  }
}

function savedIn(dir: string): SavedVm {
  return { state: path.join(dir, 'state'), memory: path.join(dir, 'ram') };
}

/** Made by this format from these inputs (a template of an older format is of no use either). */
function isCurrent(meta: string, inputs: string): boolean {
  try {
    const parsed = JSON.parse(meta) as Partial<TemplateMeta>;
    return parsed.format === FORMAT && parsed.inputs === inputs;
  } catch {
    return false;
  }
}

async function fileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}
