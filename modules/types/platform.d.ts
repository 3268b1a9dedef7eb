// The platform module, keyed "modules/moddable/platform" so that its relative
// imports resolve inside modules/moddable: modules/moddable/platform-esp32.ts
// on esp32, modules/moddable/platform-sim.ts on lin (manifest.json "platforms").

declare module "modules/moddable/platform" {
  const platform: import("../moddable/platform-api").Platform;
  export default platform;
}
