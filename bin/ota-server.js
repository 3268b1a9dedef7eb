#!/usr/bin/env node
// Package bin for the update server: runs the compiled server (dist/, built by
// `npm run build`, which `npm install` / `npm ci` run as `prepare`). No
// TypeScript loader at run time; tsx is for development only.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/ota-server.js", import.meta.url);
if (!existsSync(compiled)) {
  console.error("ota-server: not built yet; run `npm install` (or `npm run build`) in the project folder");
  process.exit(2);
}
await import(compiled.href);
