/**
 * What the Docker API is built from and what its routes are given.
 * @module
 */
import type { Logger } from 'pino';
import type { HearthConfig } from '../../config.ts';
import type { ImageLibrary } from '../../containers/deps.ts';
import type { ContainerManager } from '../../containers/manager.ts';
import type { ContainerStore } from '../../store/container-store.ts';
import type { HijackRouter } from './hijack.ts';

export interface DockerDeps {
  manager: ContainerManager;
  /** The same library the /v1 image routes use (with its events recorded). */
  images: ImageLibrary;
  store: ContainerStore;
  config: HearthConfig;
  logger: Logger;
}

/** The deps and the router of hijacked connections (attach, exec start). */
export interface DockerContext extends DockerDeps {
  hijacks: HijackRouter;
}
