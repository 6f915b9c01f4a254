/**
 * Docker's events (`GET /events`) from Hearth's event log: one Hearth event becomes the Docker events that
 * say the same thing, in dockerd's order and words, or none when Docker has no word for it (a VM booting, a
 * restart scheduled, a step of a pull).
 *
 *   state null -> creating or stopped      container create
 *   -> running (from booting/initializing) container start
 *   paused -> running                      container unpause
 *   -> paused                              container pause
 *   -> exited, error (a process had run)   container die          exitCode
 *   -> stopped                             container kill, die, stop   (only stop if no process had run)
 *   kill                                   container kill         signal
 *   renamed                                container rename       oldName
 *   updated                                container update
 *   health-status                          container health_status: healthy|unhealthy|starting
 *   exec-start                             container exec_create: CMD, exec_start: CMD   execID
 *   exec-end                               container exec_die     execID, exitCode
 *   deleted                                container destroy
 *   image-pull (done)                      image pull             Actor.ID the reference
 *   image-tag                              image tag
 *   image-untag                            image untag
 *   image-delete                           image untag, delete
 *   volume-create / volume-delete          volume create / destroy      Actor.ID the name
 *   network-create / network-delete        network create / destroy     Actor.ID the network's id
 *   network-connect / network-disconnect   network connect / disconnect container (its 64 hex digits)
 *
 * A container's Actor carries its name, image and labels as Attributes, as dockerd's do, so `--filter
 * label=...` and `--format '{{.Actor.Attributes.name}}'` work.
 * @module
 */
import { pullSucceeded } from '../../../containers/image-events.ts';
import { deletedContainer, networkIdOf, networkMemberOf, STARTED_STATES, type EventRecord } from '../../../model/index.ts';

export interface DockerEvent {
  Type: 'container' | 'image' | 'network' | 'volume';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** The fields API versions before 1.22 had; the CLI and docker-py still read them for containers. */
  status?: string;
  id?: string;
  from?: string;
}

/** What an event's container is, for its Actor. */
export interface EventContainer {
  /** The 64 hex digits. */
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** The signal a stop sends first (its number). */
  stopSignal: number;
}

/** The Docker events `e` becomes; `container` is its container (undefined when unknown). */
export function dockerEvents(e: EventRecord, container: EventContainer | undefined): DockerEvent[] {
  const ms = Date.parse(e.time);
  const at = { time: Math.floor(ms / 1000), timeNano: ms * 1_000_000, scope: 'local' as const };
  if (e.volume !== null) return volumeEvents(e, e.volume, at);
  if (e.network !== null) return networkEvents(e, e.network, at);
  const gone = deletedContainer(e);
  if (gone) return [containerEvent('destroy', { id: gone.containerId, name: gone.name, image: e.image ?? '', labels: {}, stopSignal: 0 }, at)];
  if (e.container_id === null) return imageEvents(e, at);
  if (!container) return [];
  return containerActions(e, container).map(([action, extra]) => containerEvent(action, container, at, extra));
}

function containerEvent(action: string, c: EventContainer, at: Pick<DockerEvent, 'time' | 'timeNano' | 'scope'>, extra: Record<string, string> = {}): DockerEvent {
  return {
    Type: 'container',
    Action: action,
    Actor: { ID: c.id, Attributes: { ...c.labels, image: c.image, name: c.name, ...extra } },
    ...at,
    status: action,
    id: c.id,
    from: c.image,
  };
}

type Action = [action: string, attributes?: Record<string, string>];

function containerActions(e: EventRecord, c: EventContainer): Action[] {
  const exit = (): Record<string, string> => ({ exitCode: String(e.exit_code ?? 0) });
  switch (e.type) {
    case 'state': {
      const from = e.from_state;
      // the first state of a container, whichever: `creating` (started at once) or `stopped` (created only)
      if (from === null) return [['create']];
      const ran = STARTED_STATES.has(from);
      switch (e.to_state) {
        case 'creating':
          return [];
        case 'running':
          if (from === 'paused') return [['unpause']];
          return from === 'booting' || from === 'initializing' ? [['start']] : [];
        case 'paused':
          return [['pause']];
        case 'exited':
        case 'error':
          return ran ? [['die', exit()]] : [];
        case 'stopped':
          // a stop sends the stop signal first, as dockerd says before the process dies
          return ran ? [['kill', { signal: String(c.stopSignal) }], ['die', exit()], ['stop']] : [['stop']];
        default:
          return [];
      }
    }
    case 'kill': {
      const signal = /\((\d+)\)/.exec(e.message ?? '')?.[1];
      return [['kill', signal ? { signal } : {}]];
    }
    case 'renamed': {
      const oldName = /^renamed from (\S+) to /.exec(e.message ?? '')?.[1];
      return [['rename', oldName ? { oldName: `/${oldName}` } : {}]];
    }
    case 'updated':
      return [['update']];
    case 'health-status':
      return e.health_status ? [[`health_status: ${e.health_status}`]] : [];
    case 'exec-start': {
      const m = /^exec (\S+) started: (.*) \(pid \d+\)$/.exec(e.message ?? '');
      if (!m) return [];
      const attrs = { execID: m[1]! };
      return [
        [`exec_create: ${m[2]!}`, attrs],
        [`exec_start: ${m[2]!}`, attrs],
      ];
    }
    case 'exec-end': {
      const execID = /^exec (\S+) /.exec(e.message ?? '')?.[1];
      return [['exec_die', { ...(execID ? { execID } : {}), exitCode: String(e.exit_code ?? -1) }]];
    }
    default:
      return [];
  }
}

function imageEvents(e: EventRecord, at: Pick<DockerEvent, 'time' | 'timeNano' | 'scope'>): DockerEvent[] {
  if (e.image === null) return [];
  const image = (action: string): DockerEvent => ({
    Type: 'image',
    Action: action,
    Actor: { ID: e.image!, Attributes: { name: e.image! } },
    ...at,
    status: action,
    id: e.image!,
  });
  switch (e.type) {
    case 'image-pull':
      return pullSucceeded(e) ? [image('pull')] : [];
    case 'image-tag':
      return [image('tag')];
    case 'image-untag':
      return [image('untag')];
    case 'image-delete':
      return [image('untag'), image('delete')];
    default:
      return [];
  }
}

type At = Pick<DockerEvent, 'time' | 'timeNano' | 'scope'>;

function volumeEvents(e: EventRecord, name: string, at: At): DockerEvent[] {
  const action = e.type === 'volume-create' ? 'create' : e.type === 'volume-delete' ? 'destroy' : undefined;
  if (!action) return [];
  return [{ Type: 'volume', Action: action, Actor: { ID: name, Attributes: { driver: 'local' } }, ...at }];
}

const NETWORK_ACTIONS: Partial<Record<EventRecord['type'], string>> = {
  'network-create': 'create',
  'network-delete': 'destroy',
  'network-connect': 'connect',
  'network-disconnect': 'disconnect',
};

function networkEvents(e: EventRecord, name: string, at: At): DockerEvent[] {
  const action = NETWORK_ACTIONS[e.type];
  if (!action) return [];
  const member = networkMemberOf(e);
  const attributes = { name, type: 'bridge', ...(member ? { container: member } : {}) };
  return [{ Type: 'network', Action: action, Actor: { ID: networkIdOf(e) ?? name, Attributes: attributes }, ...at }];
}
