/**
 * Traffic to a guest goes out of its own port and no other. A Linux bridge floods a unicast frame whose
 * destination MAC its forwarding database (FDB) does not hold out of every port, and it only holds a MAC it
 * has learnt from a frame sent by it within the ageing time (300 s by default). So the traffic of a guest
 * that keeps quiet (a server behind a UDP port forward, a TCP server before it answers the first packets)
 * would reach every neighbour, whose NIC in promiscuous mode takes it. The anti-spoofing table
 * (./tap-guard.ts) only judges what a port sends; this is the receiving side. Each Hearth port gets:
 *
 *   bridge link set dev TAP learning off flood off          no unicast flood goes out of it, and the bridge
 *                                                           learns nothing from it
 *   bridge fdb replace MAC dev TAP master static sticky     its guest's MAC leads to it, whatever the guest does
 *
 * Frames from the host take the same way (the bridge device looks up the FDB too, and `flood off` holds for
 * its floods as well), so host -> guest, guest -> guest and port forwards all reach exactly the guest's port.
 *
 * Why learning off: with every guest's MAC pinned, learning can only add entries that nobody needs, and the
 * pin is the one record of where a guest is. Why `sticky`: a static entry still moves when another port
 * that learns (one that is not Hearth's, on the same bridge) sends from that MAC. Broadcast and multicast
 * (`bcast_flood`, `mcast_flood`) stay on: ARP needs them and they are meant for the whole segment.
 *
 * Nothing needs undoing: the kernel drops a port's FDB entries and flags when it leaves the bridge, so they
 * go with the tap (deleted or detached), and a port attached again starts with the defaults (learning and
 * flooding on) until it is isolated again.
 */
import * as bridgeTool from '../tools/bridge.ts';

/** What a guest's port is set to; the other flags keep their defaults. */
export const ISOLATED_PORT: Pick<bridgeTool.BridgePortFlags, 'learning' | 'flood'> = { learning: false, flood: false };

/**
 * Makes `port` of `bridge` receive only frames to `mac` (and broadcast and multicast): flags first, so a
 * failure half-way leaves a port that gets too little rather than too much; then the pin; then any other
 * entry leading to the port (an earlier guest's pin, a MAC learnt before the flags were set) goes.
 * Idempotent. The port must be one of `bridge`'s.
 */
export async function isolatePort(bridge: string, port: string, mac: string): Promise<void> {
  await bridgeTool.setBridgePortFlags(port, ISOLATED_PORT);
  await pinGuestMac(port, mac);
  const wanted = mac.toLowerCase();
  const stale = (await bridgeTool.listFdb(bridge)).filter(
    (e) => e.dev === port && e.state !== 'permanent' && e.mac.toLowerCase() !== wanted,
  );
  for (const e of stale) await bridgeTool.deleteFdbEntry(e.mac, port);
}

/**
 * Only the pin: frames to `mac` leave through `port`. Enough for a port new to the bridge that was given
 * `ISOLATED_PORT` before it came up: it cannot have learnt anything nor hold an earlier guest's pin.
 */
export async function pinGuestMac(port: string, mac: string): Promise<void> {
  await bridgeTool.replaceStaticFdbEntry(mac, port, { sticky: true });
}
