/**
 * The containers layer's answer to the images layer's question "which images are in use": every container
 * in the store, in any state, with the image it names and the manifest digest that resolved to when first
 * provisioned (a stopped container starts again from that image, whatever its tag names since).
 * @module
 */
import type { Usage } from '../images/image-store.ts';
import type { ContainerStore } from '../store/container-store.ts';

export function imageUsers(store: ContainerStore): Usage {
  return async () => (await store.listContainers()).map((c) => ({ id: c.id, name: c.name, ref: c.image, digest: c.image_digest }));
}
