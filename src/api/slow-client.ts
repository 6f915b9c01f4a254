/**
 * A client that does not read what a container writes to it. A process's output, an exec's or an attached
 * one's, reaches the manager as fast as the guest makes it, and the manager cannot slow one process down
 * without slowing its whole VM channel; so what a client leaves unread waits in the manager's memory. Past
 * this much the client is cut off (its stream ends; the process and its logs go on), rather than letting a
 * container that writes fast and a client that reads slowly grow the manager without bound.
 * @module
 */
export const SLOW_CLIENT_BYTES = 32 * 1024 * 1024;

export const SLOW_CLIENT_REASON = `the client left more than ${SLOW_CLIENT_BYTES / 2 ** 20} MiB of output unread`;
