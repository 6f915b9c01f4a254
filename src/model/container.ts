/**
 * A container as Hearth knows it: its states, what a user chooses about it (`ContainerSpec`) and the whole
 * record. Field names follow the API document (snake_case), so a record maps onto the HTTP item with
 * almost no renaming. The store keeps these; the API's schemas take their enums from here.
 * @module
 */

import type { HealthcheckSpec, HealthState } from './health.ts';
import type { NetworkMembership } from './network.ts';

/**
 * creating -> booting -> initializing -> running, then stopped (the user asked), exited (the process ended)
 * or error (a step failed, or the VM died). A stopped/exited/error container can be started again.
 * After a manager restart a running container is `recovering` until its VM is reattached; one whose VM is
 * paused, or whose VMM or agent does not answer, is `paused` or `unresponsive` until it answers again.
 */
export const CONTAINER_STATES = [
  'creating',
  'booting',
  'initializing',
  'running',
  'recovering',
  'paused',
  'unresponsive',
  'stopped',
  'exited',
  'error',
] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];
/** States in which a VM is being provisioned or runs, i.e. the container holds host resources. */
export const ACTIVE_STATES: ReadonlySet<ContainerState> = new Set([
  'creating',
  'booting',
  'initializing',
  'running',
  'recovering',
  'paused',
  'unresponsive',
]);
/** States of a container whose process was started and whose VM may still run it. */
export const STARTED_STATES: ReadonlySet<ContainerState> = new Set(['running', 'recovering', 'paused', 'unresponsive']);

/** The states a run ends in: the process exited, the user stopped it, or a step or the VM failed. */
export const ENDED_STATES: ReadonlySet<ContainerState> = new Set(['exited', 'stopped', 'error']);

export const RESTART_POLICIES = ['no', 'always', 'on-failure'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export type Protocol = 'tcp' | 'udp';

/** A hostname a container may be given: one RFC 1123 label (letters, digits and inner hyphens, 1 to 63). */
export const HOSTNAME_PATTERN = '^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$';

export interface PortMapping {
  container_port: number;
  host_port: number;
  protocol: Protocol;
  /** The host address it is published on (Docker's `-p ADDR:PORT:PORT`); absent: the manager's `network.portHostIp`. */
  host_ip?: string;
}

/** One of a container's volumes: a named volume (`name`) or a host directory (`host_path`), never both; neither: an anonymous volume. */
export interface VolumeMount {
  /** A named volume, created on first use. */
  name: string | null;
  /** A host directory, as given (cleaned); resolved and checked against the allowed roots at every start. */
  host_path: string | null;
  container_path: string;
  readonly: boolean;
}

/**
 * A tmpfs mounted in the container (Docker's `--tmpfs PATH:OPTIONS`): memory of its VM, new and empty at every
 * start. `options` is Docker's comma list as given; Docker's defaults (noexec, nosuid, nodev) come before it.
 */
export interface TmpfsMount {
  container_path: string;
  options: string;
}

/** What a user chooses about a container; `PUT` replaces any of these but `name`. */
export interface ContainerSpec {
  name: string;
  image: string;
  args: string[];
  env_vars: Record<string, string>;
  volumes: VolumeMount[];
  port_mappings: PortMapping[];
  restart_policy: RestartPolicy;
  /** on-failure only: restarts allowed before giving up; 0 means no limit. Null for other policies. */
  restart_max_retries: number | null;
  /** A pseudo-terminal for the main process (`docker run -t`): one output stream, resizable. */
  tty: boolean;
  /** Keep the main process's stdin open for attached clients (`docker run -i`); else it is /dev/null. */
  stdin_open: boolean;
  /** Over the image's HEALTHCHECK, field by field; null: the image's as it is (none if it has none). */
  healthcheck: HealthcheckSpec | null;
  /**
   * CPUs the container may use (Docker's `--cpus`): its VM has this many vCPUs rounded up, and a fraction is
   * capped on the host. Null: the manager's `vm.vcpus` (containers made before limits were recorded).
   */
  cpus: number | null;
  /**
   * Memory of the container's processes in MiB (Docker's `--memory`): beyond it the OOM killer ends one of
   * them. Null: the manager's `vm.memoryMib` (containers made before limits were recorded).
   */
  memory_mib: number | null;
  /** Over the image's ENTRYPOINT (Docker's `--entrypoint`): a non-empty one also drops the image's CMD; [] none. Null: the image's. */
  entrypoint: string[] | null;
  /** Over the image's WORKDIR (Docker's `-w`); null: the image's. */
  working_dir: string | null;
  /** Over the image's USER (Docker's `-u`), for the process and, by default, its execs; null: the image's. */
  user: string | null;
  /** Docker's labels: free-form metadata, filtered on by `docker ps --filter label=`. */
  labels: Record<string, string>;
  /** Deleted as soon as a run of it ends (Docker's `--rm`, `AutoRemove`). */
  auto_remove: boolean;
  /** The guest's hostname (Docker's `--hostname`); null: the first 12 digits of the container id, as Docker's. */
  hostname: string | null;
  /** Lines appended to its /etc/hosts (Docker's `--add-host`). */
  extra_hosts: ExtraHost[];
  /** Its name servers, replacing the manager's `network.dns` (Docker's `--dns`); [] the manager's. */
  dns: string[];
  /** Its resolv.conf `search` domains (Docker's `--dns-search`); [] none. */
  dns_search: string[];
  /** Its resolv.conf `options` (Docker's `--dns-option`, e.g. `ndots:2`); [] none. */
  dns_options: string[];
  /** The signal a stop sends first (Docker's `--stop-signal`): a name (`SIGQUIT`, `QUIT`) or a number; null: the image's STOPSIGNAL, else SIGTERM. */
  stop_signal: string | null;
  /** Seconds a stop waits before SIGKILL when the request gives none (Docker's `--stop-timeout`); null: the manager's `timeouts.stopGraceMs`. */
  stop_timeout_s: number | null;
  /** Docker's `--tmpfs` and `--mount type=tmpfs`. */
  tmpfs: TmpfsMount[];
  /**
   * Capabilities over Docker's default set (`--cap-add`, `--cap-drop`): names as `CAP_NET_ADMIN`, or `ALL`
   * (containers/capabilities.ts). They are the guest kernel's; none reaches the host.
   */
  cap_add: string[];
  cap_drop: string[];
  /** Every capability of the guest's kernel (`--privileged`); the host's are never given. */
  privileged: boolean;
}

/** An extra host's address that stands for the bridge's (the host's) address on the container's network, as Docker's. */
export const HOST_GATEWAY = 'host-gateway';

/** An /etc/hosts entry of a container's own: `ip` an IPv4 address, or `host-gateway` (its bridge's address). */
export interface ExtraHost {
  hostname: string;
  ip: string;
}

export interface ContainerRecord extends ContainerSpec {
  id: string;
  state: ContainerState;
  /** What the user last asked for; the restart policy only acts while this is `running`. */
  desired_state: 'running' | 'stopped';
  restart_count: number;
  exit_code: number | null;
  /** The last run's: the OOM killer ended a process of the container (Docker's `OOMKilled`). */
  oom_killed: boolean;
  error_message: string | null;
  /** A uuid, fixed for the container's life; every VM it boots has this id. */
  vm_id: string;
  /** 64 hex digits, as Docker's. */
  container_id: string;
  guest_ip: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /**
   * The image's StopSignal, recorded when the image is resolved, so that a VM adopted after a manager
   * restart is stopped the way the image asks. Null: SIGTERM.
   */
  image_stop_signal: string | null;
  /**
   * The manifest digest the container's image resolved to when it was first provisioned: every later start
   * (by the user, the restart policy, a resumed provisioning) boots that image, whatever its tag names
   * since, as Docker keeps a container on its image ID; its writable layer was made on it. Null until first
   * resolved, and again after `PUT` gives the container another image.
   */
  image_digest: string | null;
  /** What the health checks found; null when the container has none (or has not run with one). */
  health: HealthState | null;
  /**
   * The networks it joined (model/network.ts), set when it is created and by connecting and disconnecting;
   * empty: it is on `bridge` only. Its peers on them are in its /etc/hosts.
   */
  networks: NetworkMembership[];
}

/** The guest's hostname: the one asked for, else the first 12 digits of the container id, as Docker's. */
export const hostnameOf = (c: Pick<ContainerRecord, 'container_id' | 'hostname'>): string => c.hostname ?? c.container_id.slice(0, 12);
