/**
 * What the containers layer needs from the layers below it, as small interfaces. src/assemble/host-deps.ts
 * wires the real image store, host network and sandbox launcher; tests pass fakes (test/containers/fakes.ts).
 * @module
 */
import type { CollectResult, ImageDetails, ImageSummary, PullProgress, PullTiming, RemoveResult } from '../images/image-store.ts';
import type { ImageProcessConfig } from './process-spec.ts';
import type { ImageHealthcheck } from './health-state.ts';
import type { GuestNetwork, SandboxLauncher } from '../sandbox/sandbox.ts';
import type { Protocol } from '../model/index.ts';
import type { VolumeUsage } from '../volumes/volume-disks.ts';

export type { SandboxLauncher } from '../sandbox/sandbox.ts';
export type { VolumeUsage } from '../volumes/volume-disks.ts';
export type { CollectResult, ImageDetails, ImageSummary, PullProgress, PullTiming, RemoveResult } from '../images/image-store.ts';

/** The parts of an image config a run needs (src/images ImageConfig has these and more). */
export interface ImageConfig extends ImageProcessConfig {
  /** e.g. `SIGQUIT`; empty means SIGTERM. */
  stopSignal?: string;
  /** The image's HEALTHCHECK. */
  healthcheck?: ImageHealthcheck;
  /** The image's SHELL (for a `CMD-SHELL` health check); empty means `/bin/sh -c`. */
  shell?: string[];
  /** The image's `VOLUME` directories: each gets an anonymous volume. */
  volumes?: string[];
}

/** What src/images ImageStore.ensureRootfs returns (its `Rootfs`), as far as a run needs it. */
export interface ResolvedImage {
  /** A read-only filesystem image of the unpacked layers, shared by every container of that image. */
  diskPath: string;
  fsType: 'ext4' | 'erofs';
  config: ImageConfig;
  manifestDigest: string;
}

/** Satisfied by src/images ImageStore. */
export interface ImageResolver {
  /**
   * Pulls `ref` if needed and returns its root filesystem disk. Fails with a HearthError whose message names
   * the image (NotFound for an unknown image, Unavailable for a registry that does not answer). The caller
   * stops waiting at its timeout or on stop/delete; the pull itself may go on (its result is shared).
   * `user` (a container id) keeps the image it resolves to for that container, even if its tag moves;
   * `onProgress` hears the pull's progress. `digest`, the manifest digest `ref` resolved to before, asks for
   * that image (here, or from `ref`'s repository by digest) whatever `ref`'s tag names now.
   */
  ensureRootfs(ref: string, opts?: { user?: string; digest?: string; onProgress?: (p: PullProgress) => void }): Promise<ResolvedImage>;
  /** The container is deleted: its image is no longer kept for it (and may be collected). */
  release(containerId: string): void;
}

/**
 * What the image API needs, satisfied by src/images ImageStore. Which containers use an image comes from
 * the `Usage` function the store was built with (image-users.ts).
 */
export interface ImageLibrary extends ImageResolver {
  list(): Promise<ImageSummary[]>;
  inspect(refOrDigest: string): Promise<ImageDetails>;
  /** Pulls from the registry even if the image is here, and builds its disk when `build`. */
  pull(ref: string, opts: { build?: boolean; onProgress?: (p: PullProgress) => void; credentials?: { username: string; password: string } }): Promise<string>;
  /** Checks credentials with a registry (`docker login`); nothing is stored. */
  checkLogin(registry: string, credentials: { username: string; password: string }): Promise<void>;
  remove(refOrDigest: string, opts: { force?: boolean }): Promise<RemoveResult>;
  /** Makes `target` name the image `source` names (`docker tag`); returns the canonical target and the digest. */
  tag(source: string, target: string): Promise<{ ref: string; manifestDigest: string }>;
  prune(): Promise<CollectResult>;
  /** Calls `listener` when each pull from a registry ends (how long, whether it succeeded); returns how to stop. */
  onPull(listener: (t: PullTiming) => void): () => void;
}

/** An address, a MAC and a host tap taken for one VM (what the sandbox calls GuestNetwork). */
export type NetworkAttachment = GuestNetwork;

export interface PortRule {
  hostIp: string;
  hostPort: number;
  protocol: Protocol;
  targetIp: string;
  targetPort: number;
}

export interface PortHandle {
  close(): Promise<void> | void;
}

/** A container's traffic, as its guest sees it: `rx` what it received, `tx` what it sent. */
export interface NetworkCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * The host side of a container's network. On the real host: AddressPool for addresses, HostNetwork for
 * taps on the bridge, PortForwarder for mappings.
 */
export interface ContainerNetwork {
  /**
   * Takes an address and creates the VM's tap on the bridge, able to send only as that address and reached
   * only by the VM's own traffic (and broadcast).
   */
  attach(vmId: string): Promise<NetworkAttachment>;
  /**
   * Marks an attachment read back from the store as taken again (after a manager restart) and binds its tap
   * to its address again (sending and receiving, as `attach` does); creates no tap.
   */
  reserve(vmId: string, attachment: NetworkAttachment): Promise<void>;
  /** Deletes the tap (if it exists) and returns the address. Safe to call twice. */
  detach(vmId: string, attachment: NetworkAttachment): Promise<void>;
  /** Hearth's taps present on the host, to find ones nobody owns. */
  listTaps(): Promise<string[]>;
  deleteTap(name: string): Promise<void>;
  /** Starts forwarding one host port to the guest; fails (e.g. port in use) with a HearthError. */
  openPort(rule: PortRule): Promise<PortHandle>;
  /** The attachment's traffic so far (its tap's counters); null when its tap is gone. */
  counters(attachment: NetworkAttachment): Promise<NetworkCounters | null>;
}

/** The disks of volumes, satisfied by src/volumes VolumeDisks (whose doc says more). */
export interface VolumeDiskStore {
  path(name: string): string;
  create(name: string, sizeMib: number): Promise<void>;
  exists(name: string): Promise<boolean>;
  remove(name: string): Promise<void>;
  usage(name: string): Promise<VolumeUsage>;
  prepareReadOnly(name: string): Promise<void>;
  names(): Promise<{ disks: string[]; partial: string[] }>;
  removePartial(file: string): Promise<void>;
}

/**
 * Containers' writable layers, made ahead of the launch (beside the network) rather than by it: satisfied by
 * src/sandbox ScratchDisks with the manager's scratch size, the disk the launcher makes when it finds none.
 */
export interface WritableLayers {
  /** An empty writable layer at `path`, unless there is one (a container started before keeps its changes). */
  ensure(path: string): Promise<void>;
}

/** Everything the containers layer is built from. */
export interface ContainerDeps {
  images: ImageResolver;
  network: ContainerNetwork;
  sandboxes: SandboxLauncher;
  volumes: VolumeDiskStore;
  writableLayers: WritableLayers;
}
