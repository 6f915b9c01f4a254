/**
 * How a container's resources become its VM's. The container's processes get the memory asked for (`memory_mib:
 * 64` means 64 MiB for them, as Docker users expect): it is their cgroup's limit in the guest, and the VM
 * gets that much more than the guest takes for itself. vCPUs are the CPUs asked for, rounded up; a fraction is
 * capped on the host (see vmm/jail/vmm-jail.ts).
 *
 * The guest's own memory, measured (6.1 kernel, the agent idle, MemTotal - MemAvailable of VMs of 64, 128 and
 * 512 MiB): 34.8, 35.7 and 45.2 MiB, about 34 MiB (the kernel, its unreclaimable slab, the initramfs and the
 * agent) plus 1.6% of the VM for the kernel's page structures. GUEST_BASE_MIB leaves ~5 MiB over that for the
 * kernel's free-page reserve and the agent's output queues when the container sits at its limit; 2% of the
 * limit covers the page structures.
 * @module
 */

export const GUEST_BASE_MIB = 40;
const GUEST_SHARE_DIVISOR = 50;

export interface VmSize {
  vcpus: number;
  /** The VM's RAM. */
  memoryMib: number;
}

export function vmSizeFor(resources: { cpus: number; memoryMib: number }): VmSize {
  return { vcpus: Math.ceil(resources.cpus), memoryMib: vmMemoryMib(resources.memoryMib) };
}

/** The RAM of a VM whose container has `memoryMib`: that and the guest's own. */
export function vmMemoryMib(memoryMib: number): number {
  return memoryMib + GUEST_BASE_MIB + Math.ceil(memoryMib / GUEST_SHARE_DIVISOR);
}
