/**
 * The domain model: containers, VMs, volumes, networks and events, as plain values. Every layer that speaks of them (api,
 * containers, store) imports them from here; this module imports nothing of Hearth's.
 * @module
 */
export * from './container.ts';
export * from './event.ts';
export * from './health.ts';
export * from './network.ts';
export * from './vm.ts';
export * from './volume.ts';
