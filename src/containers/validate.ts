/**
 * The checks on a container's settings that a JSON schema cannot express: environment variable names,
 * the pairing of `restart_max_retries` with `on-failure`, and host ports (unique within the request, and
 * not mapped by another container). Shapes, types and sizes are the API schema's job.
 * @module
 */
import { HearthError, invalidArgument } from '../errors.ts';
import type { ContainerRecord, ContainerSpec, PortMapping, Protocol, RestartPolicy, VolumeMount } from '../store/records.ts';

/** A request's settings as received: optional fields may be absent. */
export interface SpecInput {
  name?: string;
  image?: string;
  args?: string[];
  env_vars?: Record<string, string>;
  volumes?: Array<Omit<VolumeMount, 'readonly'> & { readonly?: boolean }>;
  port_mappings?: Array<Omit<PortMapping, 'protocol'> & { protocol?: Protocol }>;
  restart_policy?: RestartPolicy;
  restart_max_retries?: number | null;
}

const ENV_NAME = /^[^=\0]+$/;

/**
 * Applies `input` over `base` (defaults for a create, the current settings for an update) and checks the
 * result. `defaultMaxRetries` is used when on-failure is chosen without a limit.
 */
export function mergeSpec(base: ContainerSpec, input: SpecInput, defaultMaxRetries: number): ContainerSpec {
  const spec: ContainerSpec = {
    name: input.name ?? base.name,
    image: input.image ?? base.image,
    args: input.args ?? base.args,
    env_vars: input.env_vars ?? base.env_vars,
    volumes: input.volumes?.map((v) => ({ ...v, readonly: v.readonly ?? false })) ?? base.volumes,
    port_mappings: input.port_mappings?.map((p) => ({ ...p, protocol: p.protocol ?? 'tcp' })) ?? base.port_mappings,
    restart_policy: input.restart_policy ?? base.restart_policy,
    restart_max_retries: base.restart_max_retries,
  };
  if (input.restart_max_retries !== undefined && input.restart_max_retries !== null) {
    if (spec.restart_policy !== 'on-failure') {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/restart_max_retries can only be used with restart_policy on-failure (not ${spec.restart_policy})`,
        'body/restart_max_retries',
      );
    }
    spec.restart_max_retries = input.restart_max_retries;
  } else if (spec.restart_policy !== 'on-failure') {
    spec.restart_max_retries = null;
  } else if (input.restart_policy !== undefined || spec.restart_max_retries === null) {
    spec.restart_max_retries = defaultMaxRetries;
  }
  for (const key of Object.keys(spec.env_vars)) {
    if (!ENV_NAME.test(key)) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/env_vars has an invalid variable name ${JSON.stringify(key)}: it must be non-empty and contain no "=" or NUL`,
        'body/env_vars',
      );
    }
  }
  const seen = new Set<string>();
  spec.port_mappings.forEach((p, i) => {
    const key = `${p.host_port}/${p.protocol}`;
    if (seen.has(key)) {
      throw invalidArgument(
        'HEARTH_ERR_INVALID_ARGUMENT',
        `body/port_mappings/${i}/host_port ${key} is mapped more than once`,
        `body/port_mappings/${i}/host_port`,
      );
    }
    seen.add(key);
  });
  return spec;
}

/** Fails with AlreadyExists if another container maps one of the same host ports. */
export function checkPortConflicts(spec: ContainerSpec, selfId: string | null, others: readonly ContainerRecord[]): void {
  spec.port_mappings.forEach((p, i) => {
    for (const c of others) {
      if (c.id === selfId) continue;
      if (c.port_mappings.some((q) => q.host_port === p.host_port && q.protocol === p.protocol)) {
        throw new HearthError(
          'AlreadyExists',
          'HEARTH_ERR_PORT_IN_USE',
          `host port ${p.host_port}/${p.protocol} is already mapped by container ${c.name} (${c.id})`,
          { field: `body/port_mappings/${i}/host_port` },
        );
      }
    }
  });
}
