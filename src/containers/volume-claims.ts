/**
 * Who has which volume attached. A volume's disk is ext4, which is not a cluster filesystem: two VMs that
 * both mounted it, one of them writing, would each cache what the other changes under it and corrupt it. So
 * a volume is attached read-write to one container's VM at a time, or read-only to any number, never both.
 * The claims live on the runs (`Run.volumes`) for as long as a run holds its VM; a check and the claim it
 * allows are made with no await between them, so two starts cannot both pass.
 * @module
 */
import { failedPrecondition } from '../errors.ts';
import type { ContainerRecord } from '../model/index.ts';

/** A volume a container's VM attaches, and how. */
export interface VolumeClaim {
  name: string;
  readonly: boolean;
}

/** What holds claims: a live run (run.ts). */
export interface ClaimHolder {
  containerId: string;
  finished: boolean;
  volumes: readonly VolumeClaim[];
}

/** The named volumes a container's settings mount (its anonymous ones are its own alone). */
export function namedClaims(c: Pick<ContainerRecord, 'volumes'>): VolumeClaim[] {
  return c.volumes.flatMap((v) => (v.name === null ? [] : [{ name: v.name, readonly: v.readonly }]));
}

/**
 * FailedPrecondition (HEARTH_ERR_VOLUME_IN_USE, a 409) when another container's live run holds one of
 * `wanted` in a way that excludes this use; `names` gives a container's name for the message.
 */
export function checkClaims(runs: Iterable<ClaimHolder>, selfId: string, wanted: readonly VolumeClaim[], names: ReadonlyMap<string, string>): void {
  for (const run of runs) {
    if (run.containerId === selfId || run.finished) continue;
    for (const held of run.volumes) {
      const want = wanted.find((w) => w.name === held.name);
      if (!want || (held.readonly && want.readonly)) continue;
      const other = `${names.get(run.containerId) ?? 'container'} (${run.containerId})`;
      throw failedPrecondition(
        'HEARTH_ERR_VOLUME_IN_USE',
        `volume ${held.name} is mounted ${held.readonly ? 'read-only' : 'read-write'} by container ${other}, which holds a VM: ` +
          `a volume is an ext4 disk, which one VM at a time may mount read-write, or several read-only, never both at once ` +
          `(ext4 is not a cluster filesystem); stop ${other} first, or mount the volume read-only in both`,
      );
    }
  }
}

/** The container names by id, for checkClaims' messages. */
export function containerNames(containers: readonly Pick<ContainerRecord, 'id' | 'name'>[]): Map<string, string> {
  return new Map(containers.map((c) => [c.id, c.name]));
}
