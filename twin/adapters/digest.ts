// DigestFactory over node:crypto, as the server uses it.
export { nodeDigest } from "../../server/node-digest";
