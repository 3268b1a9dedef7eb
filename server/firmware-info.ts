// GET /api/firmware?path=P: everything we know about one image, kept out of
// the compatibility catalog (the AutoConnect device parses each catalog entry
// into a 256-byte buffer).
import type { FastifyPluginAsync } from "fastify";
import type { ServerContext } from "./context";
import { classifyImage, readHead } from "./image-facts";
import { refuse } from "./responses";
import { openServedFile } from "./served-file";

export const firmwareInfoPlugin: FastifyPluginAsync<{ context: ServerContext }> = async (app, { context }) => {
  app.get("/api/firmware", async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).path;
    const path = Array.isArray(raw) ? raw[0] : raw;
    if (typeof path !== "string" || path === "") return refuse(reply, 400, "Missing path");
    const opened = await openServedFile(context.root, context.digests, path, false);
    if (!opened.ok) {
      request.log.info({ detail: opened.detail }, "firmware info refused");
      return refuse(reply, opened.status, opened.reason);
    }
    const { handle, name, version, digests } = opened.file;
    try {
      const facts = classifyImage(await readHead(handle.fd, version.size));
      const h = facts.header;
      return reply.send({
        name,
        path: path.split("/").filter((s) => s !== "" && s !== ".").join("/"),
        size: version.size,
        mtime: new Date(version.mtimeMs).toISOString(),
        md5: digests.md5,
        sha256: digests.sha256,
        family: facts.family,
        image: h
          ? { chipId: h.chipId, chip: h.chipName, flashSize: h.flashSize, segmentCount: h.segmentCount, spiMode: h.spiMode, entryAddress: h.entryAddress, hashAppended: h.hashAppended }
          : null,
        app: facts.app ?? null,
      });
    } finally {
      await handle.close();
    }
  });
};
