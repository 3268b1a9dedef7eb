#!/usr/bin/env node
// Package bin for the `ota` CLI (push, discover, status, rollback, watch): runs
// the compiled bundle (dist/ota.js, built by `npm run build`, which `npm pack`
// and `npm install` in the project folder run). No TypeScript loader at run time.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/ota.js", import.meta.url);
if (!existsSync(compiled)) {
  console.error("ota: not built yet; run `npm install` (or `npm run build`) in the project folder");
  process.exit(2);
}
await import(compiled.href);
