/**
 * Networks as the Docker API names them. Every container's VM is on the one bridge (network/), and so is
 * every network: a network is a name that containers join (Compose's `<project>_default`, `docker network
 * create`), so that they find each other by name, not a segment of its own. `bridge` is the network a
 * container is on when it joined none; names are not resolved on it, as on Docker's default bridge.
 * @module
 */

/** The network every container is on when it has joined no other. */
export const DEFAULT_NETWORK = 'bridge';

/** Docker's network names: a letter or digit, then letters, digits, `_`, `.` and `-`. */
export const NETWORK_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';

export interface NetworkRecord {
  name: string;
  /** 64 hex digits, as Docker's. */
  id: string;
  labels: Record<string, string>;
  created_at: string;
}

/** A network a container joined, and the names it has there besides its own. */
export interface NetworkMembership {
  network: string;
  aliases: string[];
}
