// Legacy esp32 `ota` module.
// Source: Moddable-OpenSource/moddable build/devices/esp32/modules/ota/ota.js and
// ota.c (the constructor calls esp_ota_begin on the next update partition with
// OTA_WITH_SEQUENTIAL_WRITES; complete() = esp_ota_end + set boot partition;
// cancel() ends without switching). Not in @moddable/typings 5.6.0.

declare module "ota" {
  export default class OTA {
    constructor();
    write(data: ArrayBuffer | ArrayBufferView): void;
    cancel(): void;
    complete(): void;
  }
}
