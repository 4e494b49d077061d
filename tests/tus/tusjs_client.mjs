// Uploads one file to Docket with tus-js-client (npm), the stock JavaScript tus client, under
// Node. Prints `url URL` once the upload exists and `done OFFSET` when it is finished, one
// line each, so the test driving it can kill it mid-file and start another process with --url.
//
//   node tusjs_client.mjs --endpoint URL/v1/uploads --token T --file PATH
//        [--chunk-size N] [--url UPLOAD_URL] [--delay-ms MS]
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tus from "tus-js-client";

const { values: a } = parseArgs({
  options: {
    endpoint: { type: "string" },
    token: { type: "string" },
    file: { type: "string" },
    "chunk-size": { type: "string", default: String(1024 * 1024) },
    url: { type: "string" },
    "delay-ms": { type: "string", default: "0" },
  },
});
const delay = Number(a["delay-ms"]);
const size = fs.statSync(a.file).size;

const upload = new tus.Upload(fs.createReadStream(a.file), {
  // Resuming (--url), no endpoint: an upload the server does not know is then an error, not
  // a new upload made behind the caller's back.
  endpoint: a.url ? null : a.endpoint,
  uploadUrl: a.url ?? null,
  uploadSize: size,
  chunkSize: Number(a["chunk-size"]),
  headers: { Authorization: `Bearer ${a.token}` },
  metadata: { filename: path.basename(a.file), filetype: "text/plain" },
  retryDelays: [0, 200, 500, 1000, 2000],
  storeFingerprintForResuming: false,
  onUploadUrlAvailable() {
    console.log(`url ${upload.url}`);
  },
  async onBeforeRequest(req) {
    if (delay && req.getMethod() === "PATCH") {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  },
  onChunkComplete(_chunk, accepted) {
    console.log(`offset ${accepted}`);
  },
  onSuccess() {
    console.log(`done ${size}`);
  },
  onError(error) {
    console.log(`error ${error.originalResponse ? error.originalResponse.getStatus() : 0}`);
    console.error(String(error));
    process.exitCode = 3;
  },
});
upload.start();
