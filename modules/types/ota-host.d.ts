// "ota/host", the module a mod imports to talk to this firmware; its source is
// modules/moddable/mod-api.ts (manifest.json maps the specifier to it), whose
// exports these are. A mod's tsconfig lists this file (mods/hello/tsconfig.json).

declare module "ota/host" {
  export type ModCheckResult = import("../moddable/mod-api").ModCheckResult;
  export type HostReceivers = import("../moddable/mod-api").HostReceivers;
  export const addCheck: typeof import("../moddable/mod-api").addCheck;
  export const status: typeof import("../moddable/mod-api").status;
  export const log: typeof import("../moddable/mod-api").log;
  export const connectHost: typeof import("../moddable/mod-api").connectHost;
}
