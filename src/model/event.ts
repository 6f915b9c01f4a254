/**
 * What happened to a container, in order: every state transition, and the other kinds of events below; and
 * what happened to images through the image API.
 * @module
 */
import type { ContainerState } from './container.ts';
import type { HealthStatus } from './health.ts';

/**
 * state: a transition (from_state -> to_state); restart-scheduled: the policy will start the container again
 * (the last event of a container with a restart pending); updated: its settings changed; pull: a step of
 * the pull of its image (resolving, each layer's bytes, building the disk); renamed: its name changed;
 * kill: a signal was sent to its process; exec-start / exec-end: a command run beside the process began
 * or ended (`exit_code`); health-status: the health status changed (`health_status`). image-pull /
 * image-delete: an image was pulled or removed through the image API (no container; `image` names it; a
 * failed pull's message says why). image-tag: a reference was given to an image (`image` the new one);
 * image-untag: references were forgotten, others still name the image; image-delete: its last were.
 * deleted: a container was deleted; its own events went with it, so this one has no container (`image` is
 * its image, `from_state` the state it was in, and `message` names it: see `deletedMessage`).
 * volume-create / volume-delete: a named or anonymous volume was made or deleted (`volume` names it).
 * network-create / network-delete: a network was made or removed; network-connect / network-disconnect: a
 * container joined or left one (`network` names it; `message` ends with the network's id, and names the
 * container with its 64 hex digits: these are the network's events, kept when the container goes).
 */
export const EVENT_TYPES = [
  'state',
  'restart-scheduled',
  'updated',
  'pull',
  'renamed',
  'kill',
  'exec-start',
  'exec-end',
  'health-status',
  'image-pull',
  'image-tag',
  'image-untag',
  'image-delete',
  'deleted',
  'volume-create',
  'volume-delete',
  'network-create',
  'network-delete',
  'network-connect',
  'network-disconnect',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventRecord {
  id: number;
  /** Null for an image event. */
  container_id: string | null;
  /** The image reference of an image event; null otherwise. */
  image: string | null;
  /** The volume of a volume event; null otherwise. */
  volume: string | null;
  /** The network of a network event; null otherwise. */
  network: string | null;
  time: string;
  type: EventType;
  from_state: ContainerState | null;
  to_state: ContainerState | null;
  message: string | null;
  /** A transition to exited, stopped or error, and exec-end: the exit code, if there was one. */
  exit_code: number | null;
  /** health-status: the new status. */
  health_status: HealthStatus | null;
}

/** The message of a network event names the network's id last, in parentheses: Docker's events need it once the network is gone. */
export const networkMessage = (what: string, n: { name: string; id: string }) => `${what} network ${n.name} (${n.id})`;

/** The network id a network event's message ends with. */
export function networkIdOf(e: Pick<EventRecord, 'message'>): string | undefined {
  return /\(([0-9a-f]{64})\)$/.exec(e.message ?? '')?.[1];
}

/** The container (64 hex digits) a network-connect or network-disconnect event's message names first. */
export function networkMemberOf(e: Pick<EventRecord, 'message'>): string | undefined {
  return /^\S+ \(([0-9a-f]{64})\) (?:connected to|disconnected from) /.exec(e.message ?? '')?.[1];
}

/** The message of a `deleted` event: `deleted container <name> (<64 hex digits>)`. */
export const deletedMessage = (c: { name: string; container_id: string }) => `deleted container ${c.name} (${c.container_id})`;

/** The container a `deleted` event names, read back from its message. */
export function deletedContainer(e: Pick<EventRecord, 'type' | 'message'>): { name: string; containerId: string } | undefined {
  const m = e.type === 'deleted' ? /^deleted container (\S+) \(([0-9a-f]{64})\)$/.exec(e.message ?? '') : null;
  return m ? { name: m[1]!, containerId: m[2]! } : undefined;
}
