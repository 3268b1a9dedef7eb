// Fastify schemas at the server's edges: what each route reads from the query
// string and headers, with its type and a length bound. A request outside them
// gets 400 before a handler runs (app.ts words it without echoing anything).
// What a header value means (a MAC, an MD5) is decided in device-headers.ts,
// which words each refusal for the device's log.

const PATH = { type: "string", maxLength: 1024 } as const;

export interface CatalogQuery {
  op?: string;
  path?: string;
}
export const catalogQuerySchema = {
  type: "object",
  properties: { op: { type: "string", maxLength: 64 }, path: PATH },
} as const;

export interface FolderQuery {
  path?: string;
}
export const folderQuerySchema = { type: "object", properties: { path: PATH } } as const;

/** /api/firmware: the path is checked in the handler, so a missing one gets its own reason. */
export const firmwareQuerySchema = folderQuerySchema;

/** The headers HTTPUpdate clients send (any case: Node lower-cases names), the update report (update-report.ts) and a mod host's (mod-headers.ts). */
export const deviceHeadersSchema = {
  type: "object",
  properties: { "user-agent": { type: "string", maxLength: 512 } },
  patternProperties: { "^x-esp(8266|32)-": { type: "string", maxLength: 256 }, "^x-ota-mod": { type: "string", maxLength: 256 } },
} as const;
