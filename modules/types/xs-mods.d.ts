// Our native module for both platforms: modules/moddable/xs-mods.js + xs-mods.c.

declare module "xs-mods" {
  /** [XS_MAJOR_VERSION, XS_MINOR_VERSION, XS_PATCH_VERSION] of xs/sources/xsCommon.h as this host was built. */
  export function xsVersion(): [number, number, number];
  /** XS mapped a mod at this VM's creation (the machine's archive is set). */
  export function archiveMapped(): boolean;
}
