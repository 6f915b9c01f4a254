/**
 * What happened to a container, in order: every state transition, and the other kinds of events below.
 * @module
 */
import type { ContainerState } from './container.ts';

/**
 * state: a transition (from_state -> to_state); restart-scheduled: the policy will start the container again
 * (the last event of a container with a restart pending); updated: its settings changed; pull: a step of
 * the pull of its image (resolving, each layer's bytes, building the disk).
 */
export const EVENT_TYPES = ['state', 'restart-scheduled', 'updated', 'pull'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventRecord {
  id: number;
  container_id: string;
  time: string;
  type: EventType;
  from_state: ContainerState | null;
  to_state: ContainerState | null;
  message: string | null;
}
