/**
 * A VM as Hearth records it: the one a container holds while it is provisioned or runs, with its address
 * and tap, so that a restarted manager can reattach to it or give them back.
 * @module
 */

/**
 * allocated: address and tap taken; booting: VMM launched; running: process started; paused: its vCPUs
 * stopped by the user (recorded so a restarted manager keeps it paused); stopping: a user stop under way.
 */
export const VM_STATES = ['allocated', 'booting', 'running', 'paused', 'stopping'] as const;
export type VmState = (typeof VM_STATES)[number];
export interface VmRecord {
  id: string;
  container_id: string;
  state: VmState;
  pid: number | null;
  vcpus: number;
  memory_mib: number;
  vmm: string;
  accel: string;
  guest_ip: string | null;
  prefix_length: number | null;
  gateway: string | null;
  tap: string | null;
  mac: string | null;
  created_at: string;
  updated_at: string;
}
