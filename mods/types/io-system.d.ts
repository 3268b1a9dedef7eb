// For mcrun's tsc only: the SDK's typings/global.d.ts (in every mod's "types",
// examples/manifest_mod.json) imports "embedded:io/system" and
// "embedded:provider/builtin", whose typings import the whole ECMA-419 set.
// A mod of this project uses neither global (System, device): they are typed
// unknown. mods/hello/manifest.json maps these as typings-only modules.
declare const System: unknown;
export default System;
