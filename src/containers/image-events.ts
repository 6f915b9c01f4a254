/**
 * The image API's pulls, tags and removals as events (`image-pull`, `image-tag`, `image-untag`: some of its
 * references forgotten, `image-delete`: the last) in the one feed `/v1/events`
 * serves, as Docker's `image` events: the library wrapped so every caller of it is recorded, the event
 * written once the operation has ended (a failed pull too, its message saying why).
 * @module
 */
import type { BaseLogger } from 'pino';
import { describeError } from '../errors.ts';
import type { EventRecord, EventType } from '../model/index.ts';
import type { ContainerStore } from '../store/container-store.ts';
import type { ImageLibrary } from './deps.ts';

const PULLED = 'pulled';

/** Whether an `image-pull` event records a pull that succeeded (a failed one's message says why). */
export const pullSucceeded = (e: Pick<EventRecord, 'type' | 'message'>) => e.type === 'image-pull' && (e.message ?? '').startsWith(`${PULLED} `);

export function recordImageEvents(library: ImageLibrary, store: ContainerStore, log: BaseLogger): ImageLibrary {
  const record = async (type: EventType, image: string, message: string) => {
    try {
      await store.addEvent({ container_id: null, image, type, from_state: null, to_state: null, message });
    } catch (e) {
      log.warn({ err: e, image }, `could not record the ${type} event: ${describeError(e)}`);
    }
  };
  return {
    ensureRootfs: (ref, opts) => library.ensureRootfs(ref, opts),
    release: (containerId) => library.release(containerId),
    list: () => library.list(),
    inspect: (ref) => library.inspect(ref),
    prune: () => library.prune(),
    onPull: (listener) => library.onPull(listener),
    checkLogin: (registry, credentials) => library.checkLogin(registry, credentials),
    async pull(ref, opts) {
      try {
        const digest = await library.pull(ref, opts);
        await record('image-pull', ref, `${PULLED} ${ref} (${digest})`);
        return digest;
      } catch (e) {
        await record('image-pull', ref, `pull of ${ref} failed: ${describeError(e)}`);
        throw e;
      }
    },
    async remove(ref, opts) {
      const result = await library.remove(ref, opts);
      const names = result.refs.join(', ') || ref;
      if (result.unnamed) await record('image-delete', ref, `removed ${names} (${result.manifestDigest})`);
      else await record('image-untag', ref, `untagged ${names} (${result.manifestDigest}); other references still name it`);
      return result;
    },
    async tag(source, target) {
      const result = await library.tag(source, target);
      await record('image-tag', result.ref, `tagged ${source} as ${result.ref} (${result.manifestDigest})`);
      return result;
    },
  };
}
