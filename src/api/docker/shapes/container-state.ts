/**
 * Hearth's container states in Docker's words (`State.Status`, `ps --filter status=`): Docker has created,
 * running, paused, restarting, removing, exited and dead. A container Hearth is still provisioning (image,
 * network, VM boot) is `created` until its process runs; one being recovered after a manager restart or not
 * answering is still `running` to Docker (its process was started and may well run).
 * @module
 */
import type { ContainerState } from '../../../model/index.ts';

export type DockerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export const DOCKER_STATUSES: readonly DockerStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function dockerStatus(state: ContainerState): DockerStatus {
  switch (state) {
    case 'creating':
    case 'booting':
    case 'initializing':
      return 'created';
    case 'running':
    case 'recovering':
    case 'unresponsive':
      return 'running';
    case 'paused':
      return 'paused';
    case 'stopped':
    case 'exited':
    case 'error':
      return 'exited';
  }
}
