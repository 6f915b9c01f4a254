/**
 * Two HostConfig fields whose options Hearth reads one by one, accepting those that are already true of a
 * container's VM and refusing the rest by name: `LogConfig` (json-file's bounds) and `SecurityOpt`.
 * @module
 */
import { invalidParameter } from '../errors.ts';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `--security-opt` that asks for less host confinement (`seccomp=unconfined`, `apparmor=unconfined`,
 * `label=disable`, as debugging scripts do) is already so: the VM is the boundary, and no seccomp, AppArmor
 * or SELinux profile is applied inside it. A profile or any other option would need the guest to apply it.
 */
export function securityOpt(opt: string): void {
  const [key, value = ''] = opt.split(/[=:](.*)/s) as [string, string?];
  const unconfined = (key === 'seccomp' || key === 'apparmor') && value === 'unconfined';
  if (unconfined || (key === 'label' && value === 'disable')) return;
  throw invalidParameter(`HostConfig.SecurityOpt ${JSON.stringify(opt.length > 60 ? `${opt.slice(0, 60)}…` : opt)} is not supported by Hearth: no seccomp, AppArmor or SELinux profile is applied inside a container's VM, and other options are not yet (only seccomp=unconfined, apparmor=unconfined and label=disable are accepted)`);
}

/**
 * The options of json-file and local that only bound what is kept (`--log-opt max-size=10m`, common in
 * scripts and Compose files) are accepted once checked: the manager already bounds every container's log
 * (logs.maxBytes). Any other option would change what is logged, and is refused.
 */
const LOG_BOUNDS: Record<string, RegExp> = {
  'max-size': /^(-1|\d+(\.\d+)?\s*([kmgt]i?b?|b)?)$/i,
  'max-file': /^[1-9]\d*$/,
  compress: /^(true|false|1|0)$/i,
  mode: /^(blocking|non-blocking)$/,
  'max-buffer-size': /^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i,
};

export function logConfig(lc: Record<string, unknown>): Record<string, never> {
  const type = typeof lc.Type === 'string' ? lc.Type : '';
  if (type !== '' && type !== 'json-file' && type !== 'local') {
    throw invalidParameter(`HostConfig.LogConfig: the ${type} logging driver is not supported by Hearth: logs are kept by the manager (json-file)`);
  }
  for (const [k, v] of Object.entries(isObject(lc.Config) ? lc.Config : {})) {
    const valid = LOG_BOUNDS[k];
    if (!valid) throw invalidParameter(`HostConfig.LogConfig.Config: the log option ${k} is not supported by Hearth (only ${Object.keys(LOG_BOUNDS).join(', ')}; the manager bounds each log by logs.maxBytes)`);
    if (typeof v !== 'string' || !valid.test(v.trim())) throw invalidParameter(`HostConfig.LogConfig.Config: invalid value for log option ${k}: ${JSON.stringify(v)}`);
  }
  return {};
}
