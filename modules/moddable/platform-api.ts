// What differs between the esp32 build and the lin simulator build. The
// manifest maps the module specifier "modules/moddable/platform" to
// platform-esp32 or platform-sim; main.ts imports only that specifier
// (declared in modules/types/platform.d.ts).

import type { BootControl, ModFlash, ModHost, OtaWriter } from "../core/ports";
import type { PortProbe } from "./port-probe";
import type { PartitionReader } from "../core/image-measure";

export interface Closeable {
  close(): void;
}

export interface Platform {
  /** "esp32" on the board, "sim" in the Linux simulator. */
  readonly name: string;
  createOtaWriter(): OtaWriter;
  /** The running image's OTA state and the rollback calls (esp_ota_ops on a board). */
  bootControl(): BootControl;
  /** Reads the running app partition (for its size and MD5); undefined where no image exists (the simulator before an update). */
  runningPartitionReader(): { size: number; read: PartitionReader } | undefined;
  /** Answers every A query with the access point address; undefined where no responder can run. */
  startCaptiveDns(address: () => string): Closeable | undefined;
  /** Where binding a taken port must be avoided rather than caught (lin): tells whether a TCP port is in use. */
  portProbe?: PortProbe;
  /** The mod partitions ("xs", "xs_a", "xs_b"): partitions on a board, files in the simulator. Throws when the board's table has none. */
  modFlash(): ModFlash;
  /** Runs the mod XS mapped (Moddable's Modules). */
  modHost(): ModHost;
  restart(): void;
  /**
   * The simulator: a loopback client counts as one on the access point while it is up
   * (PortalSecurity.loopbackIsAp), so a fresh simulator's password and Wi-Fi can be set from
   * the same machine. Absent on a board, where the AP's own /24 decides (portal/security.ts).
   */
  readonly loopbackIsAp?: boolean;
  runningPartition(): string;
  chipId(): number;
  /** The chip revision (major * 100 + minor); undefined where unknown (the simulator). */
  chipRevision(): number | undefined;
  flashSize(): number;
  sdkVersion(): string;
  macs(): { sta: string; ap: string; base: string };
  /**
   * Why this build does not announce itself over mDNS; undefined where it does (the board).
   * The lin simulator must not even try: SDK 8.2.3's lin socket refuses every multicast
   * address (modules/network/socket/lin/modSocket.c tests `0 != inet_pton(...)`), and the
   * half-made socket's destructor then closes fd 0 (its calloc'ed skt), so the next ECMA-419
   * TCP socket gets fd 0, which lin tcp.c's write takes for a closed socket ("write to closed
   * socket"): the first request to the update server after the station joined failed.
   */
  readonly mdnsUnavailable?: string;
}
