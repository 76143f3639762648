// tus-js-client (the tus reference client, as pinned in web/package-lock.json) driven in node
// against a running OpenVOD, for tests/integration/api/test_tus_js_client.py.
//
//   NODE_PATH=.cache/node/node_modules node driver.cjs SCENARIO '{"endpoint": ..., ...}'
//
// Each scenario prints one JSON line (what it saw: upload URLs, the requests it sent and their
// answers) and exits 0; anything unexpected ends it with a message on stderr and exit code 1.
// The Python test decides what is right; this file only drives the client and reports.
'use strict'

const crypto = require('node:crypto')
const fs = require('node:fs')
const tus = require('tus-js-client')

function fail(message) {
  process.stderr.write(`tus_js driver: ${message}\n`)
  process.exit(1)
}

// The options every upload shares: OpenVOD's endpoint and app key (HTTP Basic), no retries (a
// failure must show at once), and a log of each request and its answer.
function baseOptions(opts, log) {
  return {
    endpoint: opts.endpoint,
    headers: { Authorization: opts.auth },
    retryDelays: null,
    metadata: { filename: opts.filename ?? 'tus-js.bin', filetype: 'application/octet-stream' },
    onBeforeRequest(req) {
      log.push({ method: req.getMethod(), url: req.getURL(), offset: req.getHeader('Upload-Offset') ?? null })
    },
    onAfterResponse(req, res) {
      const entry = log.findLast((e) => e.method === req.getMethod() && e.url === req.getURL())
      entry.status = res.getStatus()
      entry.answeredOffset = res.getHeader('Upload-Offset') ?? null
    },
  }
}

// Resolves when the upload succeeds, rejects on its error; `hooks` adds callbacks.
function run(input, options, hooks = {}) {
  let upload
  const done = new Promise((resolve, reject) => {
    upload = new tus.Upload(input, {
      ...options,
      ...hooks,
      onSuccess: () => resolve(),
      onError: (err) => reject(err),
    })
  })
  return { upload, done }
}

async function head(url) {
  const res = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } })
  return res.status
}

// A first process: start a chunked upload of a file (its URL kept in a FileUrlStorage under the
// client's default node fingerprint: path, size, mtime, endpoint) and abort it, without
// terminating it, once `abortAt` bytes are sent: the PATCH then in flight is cut off.
async function interrupt(opts) {
  const log = []
  let aborted = null
  const { upload, done } = run(fs.createReadStream(opts.file), {
    ...baseOptions(opts, log),
    chunkSize: opts.chunkSize,
    urlStorage: new tus.FileUrlStorage(opts.store),
  }, {
    onProgress(sent) {
      if (aborted === null && sent >= opts.abortAt) {
        aborted = sent
        upload.abort().then(() => {
          process.stdout.write(`${JSON.stringify({ url: upload.url, abortedAtSent: sent, requests: log })}\n`)
          process.exit(0)  // the aborted source is left open by design (to resume it): end here
        })
      }
    },
  })
  upload.start()
  await done
  fail(`the upload finished before ${opts.abortAt} bytes were sent: nothing was interrupted`)
}

// A new process: find the interrupted upload through the same FileUrlStorage and fingerprint,
// resume it to the end, then download it with GET on its URL (as tus-js-client's own end-to-end
// specs check an upload) and hash what came back.
async function resume(opts) {
  const log = []
  const storage = new tus.FileUrlStorage(opts.store)
  const { upload, done } = run(fs.createReadStream(opts.file), {
    ...baseOptions(opts, log),
    chunkSize: opts.chunkSize,
    urlStorage: storage,
    removeFingerprintOnSuccess: true,
  })
  const previous = await upload.findPreviousUploads()
  if (previous.length !== 1) fail(`findPreviousUploads() found ${previous.length} uploads, not 1`)
  upload.resumeFromPreviousUpload(previous[0])
  upload.start()
  await done
  const res = await fetch(upload.url)
  const body = Buffer.from(await res.arrayBuffer())
  process.stdout.write(`${JSON.stringify({
    url: upload.url,
    previousUrl: previous[0].uploadUrl,
    requests: log,
    get: { status: res.status, length: body.length, sha256: crypto.createHash('sha256').update(body).digest('hex') },
  })}\n`)
}

// creation-with-upload: the POST carries the first chunk, PATCHes carry the rest.
async function createWithUpload(opts) {
  const log = []
  const { upload, done } = run(fs.createReadStream(opts.file), {
    ...baseOptions(opts, log),
    chunkSize: opts.chunkSize,
    uploadDataDuringCreation: true,
  })
  upload.start()
  await done
  process.stdout.write(`${JSON.stringify({ url: upload.url, requests: log })}\n`)
}

// termination, both ways: `abort(true)` of a running upload, and `tus.Upload.terminate(url)` of
// one left unfinished; then HEAD on each URL.
async function terminate(opts) {
  const log = []
  // Start an upload and, once its first chunk is in, hand it to `stop`; resolves with its URL.
  const startThenStop = (stop) =>
    new Promise((resolve, reject) => {
      let stopping = false
      const { upload, done } = run(fs.createReadStream(opts.file), {
        ...baseOptions(opts, log),
        chunkSize: opts.chunkSize,
      }, {
        onChunkComplete() {
          if (stopping) return
          stopping = true
          stop(upload).then(() => resolve(upload.url), reject)
        },
      })
      done.then(() => reject(new Error('the upload finished before it was stopped')), reject)
      upload.start()
    })
  const abortedUrl = await startThenStop((upload) => upload.abort(true))
  const leftUrl = await startThenStop((upload) => upload.abort())
  await tus.Upload.terminate(leftUrl, { headers: { Authorization: opts.auth }, retryDelays: null })
  process.stdout.write(`${JSON.stringify({
    aborted: { url: abortedUrl, head: await head(abortedUrl) },
    terminated: { url: leftUrl, head: await head(leftUrl) },
    requests: log,
  })}\n`)
}

const scenarios = { interrupt, resume, 'create-with-upload': createWithUpload, terminate }

async function main() {
  const [name, json] = process.argv.slice(2)
  const scenario = scenarios[name]
  if (scenario === undefined) fail(`unknown scenario ${JSON.stringify(name)}; one of ${Object.keys(scenarios)}`)
  await scenario(JSON.parse(json))
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)))
