/**
 * A container's image pull, recorded in its events (type `pull`): the progress the image API streams (the
 * image store samples it, see images/progress.ts), one event per step, written in order without holding the
 * pull up, and no longer once the step waiting for the pull has given up (stop, delete, timeout).
 * @module
 */
import type { BaseLogger } from 'pino';
import { describeError } from '../errors.ts';
import type { ContainerStore } from '../store/container-store.ts';
import type { PullProgress } from './deps.ts';

export function pullEvents(store: ContainerStore, containerId: string, signal: AbortSignal, log: BaseLogger): (p: PullProgress) => void {
  let written: Promise<void> = Promise.resolve();
  return (p) => {
    if (signal.aborted) return;
    const event = { container_id: containerId, type: 'pull' as const, from_state: null, to_state: null, message: describePull(p) };
    written = written
      .then(async () => void (signal.aborted ? undefined : await store.addEvent(event)))
      .catch((e: unknown) => log.warn({ err: e, container: containerId }, `could not record pull progress: ${describeError(e)}`));
  };
}

function describePull(p: PullProgress): string {
  switch (p.type) {
    case 'resolving':
      return `resolving ${p.ref}`;
    case 'resolved':
      return `${p.ref} is ${p.manifestDigest}: ${p.layers.length} layers, ${p.layers.reduce((n, l) => n + l.size, 0)} bytes`;
    case 'layer':
      if (p.status === 'cached') return `layer ${p.digest}: already here (${p.size} bytes)`;
      return `layer ${p.digest}: ${p.downloaded} of ${p.size} bytes${p.status === 'verified' ? ', verified' : ''}`;
    case 'building':
      return `building the disk of ${p.manifestDigest}`;
    case 'ready':
      return `image ${p.ref} ready (${p.manifestDigest})`;
  }
}
