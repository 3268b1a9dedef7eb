// ECMA-419 files (modules/io/files in SDK 8.2.3). Its members are typed where
// they are used, in modules/moddable/files-root.ts: the SDK's own typings
// (typings/embedded/storage/files.d.ts, used by mcconfig's tsc) lack the
// default export 8.2.3's files.js has, so our code reads it through the namespace.
declare module "embedded:storage/files" {}
