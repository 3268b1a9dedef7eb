// GET /api/firmware?path=P: everything we know about one image, kept out of
// the compatibility catalog (the AutoConnect device parses each catalog entry
// into a 256-byte buffer). A `.xsa` file (a Moddable mod) also gets
// `kind: "mod"` and `mod`: what its XS archive says (mod-facts.ts), or null
// and `error` when it is no valid mod.
import type { FastifyPluginAsync } from "fastify";
import { unknownChipProblem } from "../modules/core/esp-image-rules";
import type { ServerContext } from "./context";
import { refuse } from "./responses";
import { firmwareQuerySchema, type FolderQuery } from "./schemas";
import { signerOf } from "./signature-files";
import { isModName, xsMajorMinor, type ModCheck } from "./mod-facts";
import { xsVersionText } from "../modules/core/mods/archive";

function modBody(check: ModCheck | undefined) {
  if (!check?.ok) return { kind: "mod", mod: null, error: check?.error ?? "Not a mod" };
  const f = check.facts;
  return {
    kind: "mod",
    mod: { name: f.name, version: f.version, archiveName: f.archiveName, xs: xsMajorMinor(f), xsVersion: xsVersionText(f.xs), sign: f.sign, modules: f.modules, resources: f.resources, hasCheck: f.hasCheck },
  };
}

export const firmwareInfoPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get<{ Querystring: FolderQuery }>("/api/firmware", { schema: { querystring: firmwareQuerySchema } }, async (request, reply) => {
    const { path } = request.query;
    if (path === undefined || path === "") return refuse(reply, 400, "Missing path");
    const opened = await context.files.open(path, false);
    if (!opened.ok) {
      request.log.info({ detail: opened.detail }, "firmware info refused");
      return refuse(reply, opened.status, opened.reason);
    }
    const { name, version, entry, handle, requested, relative } = opened.file;
    await handle?.close();
    const signature = await context.signatures.beside(requested, relative);
    const facts = entry.facts;
    const h = facts.header;
    return reply.send({
      name,
      path: path.split("/").filter((s) => s !== "" && s !== ".").join("/"),
      size: version.size,
      mtime: new Date(version.mtimeMs).toISOString(),
      md5: entry.digests.md5,
      sha256: entry.digests.sha256,
      family: facts.family,
      image: h
        ? {
            chipId: h.chipId,
            chip: h.chipName,
            flashSize: h.flashSize,
            segmentCount: h.segmentCount,
            spiMode: h.spiMode,
            entryAddress: h.entryAddress,
            hashAppended: h.hashAppended,
            // why no board would take it, when that needs no board: a chip id no ESP-IDF target has
            problem: unknownChipProblem(h.chipId) ?? null,
          }
        : null,
      app: facts.app ?? null,
      // a .sig beside it parses; the server knows no board's keys, so it does not judge the signature
      signed: signature?.signed === true,
      signer: signerOf(signature) ?? null,
      ...(isModName(name) ? modBody(entry.mod) : {}),
    });
  });
};
