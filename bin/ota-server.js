#!/usr/bin/env node
// Package bin for the update server: runs the TypeScript sources through tsx,
// the same way `npm run server` and the tests do.
import { register } from "tsx/esm/api";

register();
await import("../server/cli.ts");
