// The only file that constructs the legacy `http` module's objects; the
// adapters (http-client.ts, http-server.ts) take them through factories so
// tests can drive them with http.js's message sequences.

import { Request, Server } from "http";
import type { LegacyRequest, RequestFactory } from "./http-client";
import type { LegacyServer, ServerFactory } from "./http-server";

export const legacyRequest: RequestFactory = (options) => new Request(options) as LegacyRequest;

// Through unknown: the SDK's own typings (used by mcconfig's tsc) type the callback's `this` as Request.
export const legacyServer: ServerFactory = (options) => new Server(options) as unknown as LegacyServer;
