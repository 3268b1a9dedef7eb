// ECMA-419 OTA update and flash storage, esp32 builds only.
// Sources: Moddable-OpenSource/moddable modules/io/update/esp32/update-esp32.js
// and update-esp32.c (open({partition, mode: "a" | "w", byteLength}); in "a"
// mode esp_ota_begin erases sequentially as data arrives and write() takes no
// offset; complete() = esp_ota_end (validates the image) + set boot partition;
// close() aborts an unfinished update), modules/io/flash/esp32/flash-esp32.js
// and flash-esp32.c (open({path: "nextota" | "running" | label}); status()).
// Neither is in @moddable/typings 5.6.0.

declare module "embedded:storage/flash" {
  export interface FlashPartition {
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    write(buffer: ArrayBuffer | ArrayBufferView, byteOffset: number): void;
    eraseBlock(start: number, end?: number): void;
    status(): { size: number; blockLength: number; blocks: number };
    close(): void;
  }
  const Flash: {
    open(options: { path: string; mode?: "r" | "r+" }): FlashPartition;
  };
  export default Flash;
}

declare module "embedded:update" {
  import type { FlashPartition } from "embedded:storage/flash";
  export interface Update {
    write(buffer: ArrayBuffer | ArrayBufferView, byteOffset?: number): void;
    complete(): void;
    close(): void;
  }
  const OTA: {
    open(options: { partition: FlashPartition; mode?: "a" | "w"; byteLength?: number }): Update;
  };
  export default OTA;
}
