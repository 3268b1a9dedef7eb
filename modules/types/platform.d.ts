// The platform module: modules/moddable/platform-esp32.ts on esp32,
// modules/moddable/platform-sim.ts on lin (manifest.json "platforms").

declare module "platform" {
  const platform: import("../moddable/platform-api").Platform;
  export default platform;
}
