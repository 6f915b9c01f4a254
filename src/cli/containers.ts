/**
 * Containers as the CLI names them: by name, by the API's id, by Docker's 64-hex `container_id`, or by a
 * unique prefix of either id, as docker accepts. The API's paths take only the id, so a name is looked up in
 * the list.
 * @module
 */
import { CliError, type Client } from './client.ts';

/** The fields of a container item the CLI reads (the API's item has more; `inspect` prints all of it). */
export interface ContainerItem {
  id: string;
  name: string;
  image: string;
  args: string[];
  state: string;
  container_id: string;
  port_mappings: { container_port: number; host_port: number; protocol: string; host_ip: string | null }[];
  exit_code: number | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  tty: boolean;
  stdin_open: boolean;
  health: { status: string } | null;
  [field: string]: unknown;
}

export async function listContainers(client: Client): Promise<ContainerItem[]> {
  return (await client.json<{ items: ContainerItem[] }>('GET', '/v1/containers')).items;
}

/** The one container `ref` names; "no such container" or "names N containers" otherwise. */
export async function findContainer(client: Client, ref: string): Promise<ContainerItem> {
  const items = await listContainers(client);
  const exact = items.find((c) => c.name === ref || c.id === ref || c.container_id === ref);
  if (exact) return exact;
  const lower = ref.toLowerCase();
  const byPrefix = lower === '' ? [] : items.filter((c) => c.id.startsWith(lower) || c.container_id.startsWith(lower));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new CliError(`'${ref}' names ${byPrefix.length} containers: give more of the id`);
  throw new CliError(`no such container: ${ref}`);
}

/** States in which the container's VM is being made, before its process runs. */
export const PROVISIONING = new Set(['creating', 'booting', 'initializing']);
