/*
 * OpenVOD's drop-in for Tencent's browser upload SDK (vod-js-sdk-v6): the same global
 * `TcVod`, the same `new TcVod.default({getSignature}).upload({mediaFile, coverFile, mediaName})`,
 * the same events and `done()` result, uploading to the OpenVOD server that serves this script
 * with tus (resumable; docs/api.md "Browser uploader"). Served as GET /sdk/vod-js-sdk-v6.js with
 * the vendored tus-js-client before it (openvod/web/sdk.py), which hands this code `tus`.
 *
 * Differences from Tencent's SDK: the signature is checked when the upload is created (one
 * getSignature() call per upload, not one for ApplyUploadUGC and one for CommitUploadUGC); the
 * cover is sent after the media (PUT {upload URL}/cover), not beside it; changing the cover of an
 * existing fileId (upload({fileId, coverFile})) is refused; nothing is reported to Tencent
 * (allowReport, appId, reportId, enableRaceRegion are accepted and ignored).
 */
"use strict";

var DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024; // the real SDK's default COS part size
var DEFAULT_PROGRESS_INTERVAL = 1000; // ms between progress events, as COS's ProgressInterval
var RETRY_DELAYS = [0, 1000, 3000, 5000];
var COVER_TYPES = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif",
                    webp: "image/webp", bmp: "image/bmp" };

// Where OpenVOD is: the script's own URL less "sdk/vod-js-sdk-v6.js". Read now, while the script
// runs: document.currentScript is null once it has.
var SCRIPT_BASE = (function () {
  var script = typeof document !== "undefined" ? document.currentScript : null;
  return script && script.src ? new URL("../", script.src).href : null;
})();

function isFile(value) {
  return typeof Blob !== "undefined" && value instanceof Blob && typeof value.name === "string";
}

// An Error whose message leads with OpenVOD's error code (e.g. "AuthFailure.SignatureExpire: ..."),
// and carries it as `code`, so a page can show it or branch on it.
function vodError(code, message, status) {
  var err = new Error(code ? code + ": " + message : message);
  err.code = code || "ClientError";
  if (status !== undefined) err.status = status;
  return err;
}

function errorFromResponse(status, body, what) {
  var parsed = null;
  try {
    parsed = JSON.parse(body).error;
  } catch (e) {
    parsed = null;
  }
  if (parsed && parsed.code) return vodError(parsed.code, parsed.message || "", status);
  return vodError("FailedOperation.Http" + status, what + " failed with HTTP " + status, status);
}

function errorFromTus(err) {
  var response = err && err.originalResponse;
  if (response) return errorFromResponse(response.getStatus(), response.getBody(), "the upload");
  return vodError("FailedOperation.Network", "the upload failed: " + ((err && err.message) || err));
}

// ---------------------------------------------------------------- events, as eventemitter3

function Emitter() {
  this._events = {};
}
Emitter.prototype.on = function (event, fn, context) {
  (this._events[event] = this._events[event] || []).push({ fn: fn, context: context, once: false });
  return this;
};
Emitter.prototype.addListener = Emitter.prototype.on;
Emitter.prototype.once = function (event, fn, context) {
  (this._events[event] = this._events[event] || []).push({ fn: fn, context: context, once: true });
  return this;
};
Emitter.prototype.off = function (event, fn) {
  if (!fn) delete this._events[event];
  else this._events[event] = (this._events[event] || []).filter(function (l) { return l.fn !== fn; });
  return this;
};
Emitter.prototype.removeListener = Emitter.prototype.off;
Emitter.prototype.removeAllListeners = function (event) {
  if (event === undefined) this._events = {};
  else delete this._events[event];
  return this;
};
Emitter.prototype.listeners = function (event) {
  return (this._events[event] || []).map(function (l) { return l.fn; });
};
Emitter.prototype.emit = function (event, data) {
  var listeners = (this._events[event] || []).slice();
  if (!listeners.length) return false;
  this._events[event] = this._events[event].filter(function (l) { return !l.once; });
  listeners.forEach(function (l) {
    try {
      l.fn.call(l.context, data);
    } catch (e) {
      setTimeout(function () { throw e; }); // a page's listener error must not stop the upload
    }
  });
  return true;
};

// ---------------------------------------------------------------- progress, as COS reports it

// {loaded, total, speed (bytes/s), percent (0..1, two decimals, rounded down)}, at most one per
// `interval` ms, and always the last one.
function progressReporter(emit, interval) {
  var last = { time: Date.now(), loaded: 0 };
  var sentAt = 0;
  var finished = false;
  return function (loaded, total, force) {
    var now = Date.now();
    if (finished || (!force && now - sentAt < interval)) return;
    finished = loaded === total;
    var seconds = (now - last.time) / 1000;
    var speed = seconds > 0 ? Math.max(0, Math.round(((loaded - last.loaded) / seconds) * 100) / 100) : 0;
    var percent = total === 0 ? 1 : Math.floor((loaded / total) * 100) / 100;
    last = { time: now, loaded: loaded };
    sentAt = now;
    emit({ loaded: loaded, total: total, speed: speed, percent: percent });
  };
}

// ---------------------------------------------------------------- the uploader

function Uploader(params) {
  Emitter.call(this);
  if (typeof params.getSignature !== "function") throw new Error("getSignature must be a function");
  var media = params.mediaFile || params.videoFile;
  if (media && !isFile(media)) throw new Error("mediaFile must be a File");
  if (params.coverFile && !isFile(params.coverFile)) throw new Error("coverFile must be a File");
  var name = params.mediaName || params.videoName;
  if (name !== undefined && name !== null && name !== "") {
    if (typeof name !== "string") throw new Error("mediaName must be a string");
    if (/[:*?<>"\\/|]/.test(name)) throw new Error('Cant use these chars in filename: \\ / : * ? " < > |');
  }
  this.getSignature = params.getSignature;
  this.videoFile = media;
  this.coverFile = params.coverFile;
  this.fileId = params.fileId;
  this.enableResume = params.enableResume !== false;
  this.chunkSize = params.chunkSize || DEFAULT_CHUNK_SIZE;
  this.progressInterval = params.progressInterval || DEFAULT_PROGRESS_INTERVAL;
  this.baseUrl = params.openvodUrl ? String(params.openvodUrl).replace(/\/?$/, "/") : SCRIPT_BASE;
  this.videoInfo = media ? fileInfo(media, name) : undefined;
  this.coverInfo = params.coverFile ? fileInfo(params.coverFile) : undefined;
  this.donePromise = null;
  this._tus = null;
  this._coverRequest = null;
  this._canceled = false;
  this._rejectDone = null;
}
Uploader.prototype = Object.create(Emitter.prototype);
Uploader.prototype.constructor = Uploader;

function fileInfo(file, name) {
  var dot = file.name.lastIndexOf(".");
  return {
    name: name || (dot > 0 ? file.name.substring(0, dot) : file.name),
    type: dot >= 0 ? file.name.substring(dot + 1).toLowerCase() : "",
    size: file.size,
  };
}

Uploader.prototype.start = function () {
  var self = this;
  this.donePromise = new Promise(function (resolve, reject) {
    self._rejectDone = reject;
    self._run().then(resolve, reject);
  });
};

Uploader.prototype.done = function () {
  return this.donePromise;
};

// Stops the upload: the bytes sent so far stay on the server, so uploading the same file again
// (also after a page reload) goes on from there. done() rejects with code "FailedOperation.Canceled".
Uploader.prototype.cancel = function () {
  if (this._canceled) return;
  this._canceled = true;
  if (this._tus) this._tus.abort(false);
  if (this._coverRequest) this._coverRequest.abort();
  if (this._rejectDone) this._rejectDone(vodError("FailedOperation.Canceled", "the upload was canceled"));
};

Uploader.prototype._run = async function () {
  if (!this.baseUrl) {
    throw vodError("InvalidParameter.OpenVODUrl", "cannot tell OpenVOD's address: load this script from " +
                   "OpenVOD's /sdk/vod-js-sdk-v6.js, or pass openvodUrl");
  }
  if (!this.videoFile) {
    if (this.fileId && this.coverFile) {
      throw vodError("UnsupportedOperation.CoverOnly", "changing the cover of an existing fileId is not " +
                     "supported by OpenVOD's uploader; upload the cover with its media");
    }
    throw new Error("Wrong params, please check and try again");
  }
  var signature = await this.getSignature();
  this._checkCanceled();
  if (typeof signature !== "string" || !signature) {
    throw vodError("InvalidParameter.Signature", "getSignature() resolved " + JSON.stringify(signature) +
                   ", not a signature string");
  }
  var uploadUrl = await this._uploadMedia(signature);
  this._checkCanceled();
  var state = this.coverFile ? await this._uploadCover(uploadUrl) : await this._readState(uploadUrl);
  var result = { fileId: state.file_id, video: { url: state.media_url || "", verify_content: "" } };
  if (state.cover_url) result.cover = { url: state.cover_url, verify_content: "" };
  return result;
};

Uploader.prototype._checkCanceled = function () {
  if (this._canceled) throw vodError("FailedOperation.Canceled", "the upload was canceled");
};

Uploader.prototype._uploadMedia = function (signature) {
  var self = this;
  var file = this.videoFile;
  var endpoint = this.baseUrl + "v1/uploads";
  var report = progressReporter(function (data) {
    self.emit("video_progress", data);
    self.emit("media_progress", data);
  }, this.progressInterval);
  return new Promise(function (resolve, reject) {
    var upload = new tus.Upload(file, {
      endpoint: endpoint,
      chunkSize: self.chunkSize,
      retryDelays: RETRY_DELAYS,
      metadata: { filename: file.name, filetype: file.type || "", name: self.videoInfo.name },
      storeFingerprintForResuming: self.enableResume,
      removeFingerprintOnSuccess: true,
      // The signature goes in a header of the creation request only: never into the URL storage
      // (tus keeps the metadata there), never with the PATCHes.
      onBeforeRequest: function (req) {
        if (req.getMethod() === "POST" && req.getURL() === endpoint) req.setHeader("X-VOD-Signature", signature);
      },
      onProgress: function (sent, total) {
        report(sent, total, sent === total);
      },
      onSuccess: function () {
        var url = upload.url;
        var info = { Location: url, Bucket: "", Key: url.substring(url.lastIndexOf("/") + 1), ETag: "",
                     statusCode: 204 };
        report(file.size, file.size, true);
        self.emit("video_upload", info);
        self.emit("media_upload", info);
        resolve(url);
      },
      onError: function (err) {
        reject(errorFromTus(err));
      },
    });
    self._tus = upload;
    var begin = self.enableResume ? upload.findPreviousUploads() : Promise.resolve([]);
    begin.then(function (previous) {
      if (self._canceled) return;
      if (previous.length) {
        // the newest first (tus stores creationTime as Date#toString)
        previous.sort(function (a, b) { return (Date.parse(b.creationTime) || 0) - (Date.parse(a.creationTime) || 0); });
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    }, reject);
  });
};

function request(method, url, options) {
  var xhr = new XMLHttpRequest();
  var promise = new Promise(function (resolve, reject) {
    xhr.open(method, url, true);
    xhr.setRequestHeader("Accept", "application/json");
    if (options.contentType) xhr.setRequestHeader("Content-Type", options.contentType);
    if (options.onProgress && xhr.upload) {
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) options.onProgress(e.loaded, e.total);
      };
    }
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (e) {
          reject(vodError("FailedOperation.Response", options.what + " answered something other than JSON"));
        }
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText, options.what));
      }
    };
    xhr.onerror = function () {
      reject(vodError("FailedOperation.Network", options.what + " failed: network error or CORS refusal"));
    };
    xhr.onabort = function () {
      reject(vodError("FailedOperation.Canceled", "the upload was canceled"));
    };
    xhr.send(options.body === undefined ? null : options.body);
  });
  return { xhr: xhr, promise: promise };
}

// The finished upload's JSON state: file_id, media_url, cover_url.
Uploader.prototype._readState = function (uploadUrl) {
  return request("GET", uploadUrl, { what: "reading the upload's result" }).promise;
};

Uploader.prototype._uploadCover = function (uploadUrl) {
  var self = this;
  var cover = this.coverFile;
  var report = progressReporter(function (data) { self.emit("cover_progress", data); }, this.progressInterval);
  var sent = request("PUT", uploadUrl + "/cover", {
    what: "the cover upload",
    body: cover,
    contentType: cover.type || COVER_TYPES[this.coverInfo.type] || "application/octet-stream",
    onProgress: function (loaded, total) { report(loaded, total, loaded === total); },
  });
  this._coverRequest = sent.xhr;
  return sent.promise.then(function (state) {
    report(cover.size, cover.size, true);
    self.emit("cover_upload", { Location: uploadUrl + "/cover", Bucket: "", Key: "cover", ETag: "",
                                statusCode: 200 });
    return state;
  });
};

// ---------------------------------------------------------------- TcVod

function TcVod(params) {
  params = params || {};
  if (typeof params.getSignature !== "function") throw new Error("getSignature must be a function");
  this.getSignature = params.getSignature;
  this.enableResume = params.enableResume !== false;
  this.openvodUrl = params.openvodUrl;
  // allowReport, appId, reportId, enableRaceRegion: accepted for compatibility; nothing is reported.
  this.allowReport = params.allowReport !== false;
  this.appId = params.appId;
  this.reportId = params.reportId;
}

TcVod.prototype.upload = function (params) {
  var options = { getSignature: this.getSignature, enableResume: this.enableResume, openvodUrl: this.openvodUrl };
  Object.keys(params || {}).forEach(function (key) { options[key] = params[key]; });
  var uploader = new Uploader(options);
  uploader.start();
  return uploader;
};

// What the real UMD bundle exports: the class as `default` of an ES module namespace.
var api = { default: TcVod, Uploader: Uploader };
Object.defineProperty(api, "__esModule", { value: true });
if (typeof module === "object" && module && typeof module.exports === "object") module.exports = api;
if (typeof globalThis !== "undefined") globalThis.TcVod = api;
