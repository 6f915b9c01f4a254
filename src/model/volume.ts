/**
 * A volume as Hearth records it: an ext4 disk image of its own under the data directory, named by the
 * user (created by `POST /v1/volumes` or on a container's first use of the name, as Docker does) or
 * anonymous (one per `VOLUME` directory of a container's image, removed with the container).
 * @module
 */

/** Docker's volume names: a letter or digit, then letters, digits, `_`, `.` and `-`. */
export const VOLUME_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$';

export interface VolumeRecord {
  name: string;
  /** The disk's capacity; only what is written takes space on the host (the disk is sparse). */
  size_mib: number;
  labels: Record<string, string>;
  /**
   * Docker's `DriverOpts` as they were given at create (the Docker API reads `size` from them), shown back
   * as they were: Compose compares them with its file's. Empty for a volume made otherwise.
   */
  driver_options: Record<string, string>;
  /** An anonymous volume: the container it belongs to and the image directory it holds; null for a named one. */
  anonymous_for: string | null;
  anonymous_path: string | null;
  /**
   * Its first read-write use is done: the image directory's content was copied in (or there was none). Until
   * then a container that mounts it read-write copies it, as Docker fills an empty volume.
   */
  initialized: boolean;
  created_at: string;
}
