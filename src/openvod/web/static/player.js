/* The /play/{file_id} and /embed/{file_id} pages: HLS through hls.js (or the browser's own HLS),
 * else MPEG-DASH through Shaka Player (loaded only then; `?engine=dash` prefers it), else MP4; accessible controls; a captions menu (subtitle renditions of the HLS master playlist,
 * or <track> elements for MP4); sprite-sheet previews above the seek bar from the WebVTT sprite index.
 * Plain ES2017, no build step. The page's data is the JSON in #player-data. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("player-data").textContent);
  var player = document.getElementById("player");
  var video = document.getElementById("video");
  var statusLine = document.getElementById("status");
  var controls = document.getElementById("controls");
  var playButton = document.getElementById("play");
  var seek = document.getElementById("seek");
  var timeLabel = document.getElementById("time");
  var muteButton = document.getElementById("mute");
  var quality = document.getElementById("quality");
  var captions = document.getElementById("captions");
  var fullscreenButton = document.getElementById("fullscreen");
  var preview = document.getElementById("preview");
  var frame = document.getElementById("frame");
  var thumb = document.getElementById("thumb");
  var previewTime = document.getElementById("preview-time");

  var PREVIEW_WIDTH = 160; // px; larger sprite cells are scaled down to this
  var hls = null;
  var shakaPlayer = null;
  var dragging = false;
  var cues = [];

  function setStatus(text) { statusLine.textContent = text || ""; }

  function clock(seconds) {
    if (!isFinite(seconds) || seconds < 0) { seconds = 0; }
    var s = Math.floor(seconds % 60), m = Math.floor(seconds / 60) % 60, h = Math.floor(seconds / 3600);
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function duration() {
    return isFinite(video.duration) && video.duration > 0 ? video.duration : (data.duration || 0);
  }

  // -- captions ----------------------------------------------------------------------------
  // One menu for both engines: hls.js's subtitle tracks (from the master playlist's SUBTITLES
  // renditions), or the <track> elements added for MP4 and the browser's own HLS.
  var subtitles = data.subtitles || [];

  function fillCaptions(entries) {
    while (captions.options.length > 1) { captions.remove(1); }
    entries.forEach(function (entry, index) {
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = entry.label || entry.language;
      option.lang = entry.language;
      captions.appendChild(option);
    });
    captions.hidden = entries.length === 0;
    player.dataset.captions = String(entries.length);
  }

  function addTracks() {
    if (!subtitles.length || video.querySelector("track")) { return; }
    var here = window.location.origin;
    subtitles.forEach(function (sub) {
      if (new URL(sub.url, window.location.href).origin !== here) { video.crossOrigin = "anonymous"; }
      var track = document.createElement("track");
      track.kind = "subtitles";
      track.src = sub.url;
      track.srclang = sub.language;
      track.label = sub.label || sub.language;
      track.addEventListener("load", function () { liftCues(track.track); });
      video.appendChild(track);
    });
    fillCaptions(subtitles);
  }

  // In the embed page the controls lie over the video's foot: lift cues laid out at the bottom
  // ("auto" line) above them.
  function liftCues(track) {
    if (!document.body.classList.contains("embed") || !track.cues) { return; }
    var moved = false;
    for (var i = 0; i < track.cues.length; i++) {
      if (track.cues[i].line === "auto") { track.cues[i].line = -4; moved = true; }
    }
    if (moved && track.mode === "showing") { // a cue on screen is laid out again only so
      track.mode = "hidden";
      track.mode = "showing";
    }
  }

  function chooseCaptions() {
    var chosen = parseInt(captions.value, 10);
    if (hls) {
      hls.subtitleDisplay = chosen >= 0;
      hls.subtitleTrack = chosen;
      return;
    }
    for (var i = 0; i < video.textTracks.length; i++) {
      video.textTracks[i].mode = i === chosen ? "showing" : "disabled";
    }
  }

  video.textTracks.addEventListener("addtrack", function (event) {
    var track = event.track;
    track.addEventListener("cuechange", function () { liftCues(track); });
  });

  // -- sources -----------------------------------------------------------------------------
  function playMp4(reason) {
    if (hls) { hls.destroy(); hls = null; }
    if (shakaPlayer) { shakaPlayer.destroy(); shakaPlayer = null; }
    if (!data.mp4) {
      setStatus(reason || "This media has no playable output yet.");
      player.dataset.engine = "none";
      return;
    }
    player.dataset.engine = "mp4";
    addTracks();
    video.src = data.mp4;
  }

  function fillLevels() {
    if (!hls || hls.levels.length < 2) { return; }
    hls.levels.forEach(function (level, index) {
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = level.height ? level.height + "p" : Math.round(level.bitrate / 1000) + " kb/s";
      quality.appendChild(option);
    });
    quality.hidden = false;
  }

  // -- MPEG-DASH (a DASH-only ladder, or a CMAF one with ?engine=dash) ------------------------
  function fillTracks() {
    var tracks = shakaPlayer.getVariantTracks().filter(function (t) { return t.height; });
    tracks.sort(function (a, b) { return b.height - a.height || b.bandwidth - a.bandwidth; });
    if (tracks.length < 2) { return; }
    tracks.forEach(function (track) {
      var option = document.createElement("option");
      option.value = String(track.id);
      option.textContent = track.height + "p";
      quality.appendChild(option);
    });
    quality.hidden = false;
  }

  function chooseTrack(id) {
    shakaPlayer.configure({ abr: { enabled: id < 0 } });
    shakaPlayer.getVariantTracks().forEach(function (track) {
      if (track.id === id) { shakaPlayer.selectVariantTrack(track, true); }
    });
  }

  function playDash() {
    player.dataset.engine = "shaka";
    var script = document.createElement("script");
    script.src = "../static/vendor/shaka-player.dash.js";
    script.onerror = function () { playMp4("The DASH player failed to load."); };
    script.onload = function () {
      var shaka = window.shaka;
      shaka.polyfill.installAll();
      if (!shaka.Player.isBrowserSupported()) { playMp4(); return; }
      shakaPlayer = new shaka.Player();
      shakaPlayer.addEventListener("error", function (event) {
        playMp4("The stream failed to play (Shaka error " + event.detail.code + ").");
      });
      addTracks();
      shakaPlayer.attach(video)
        .then(function () { return shakaPlayer.load(data.dash); })
        .then(fillTracks)
        .catch(function (err) { playMp4("The stream failed to play (Shaka error " + err.code + ")."); });
    };
    document.body.appendChild(script);
  }

  function attach() {
    var wantDash = new URLSearchParams(window.location.search).get("engine") === "dash";
    var mse = !!(window.MediaSource || window.ManagedMediaSource);
    if (data.dash && mse && (wantDash || !data.hls)) {
      playDash();
    } else if (data.hls && window.Hls && window.Hls.isSupported()) {
      var Hls = window.Hls;
      var recovered = false;
      hls = new Hls({ enableWorker: true });
      player.dataset.engine = "hls.js";
      hls.on(Hls.Events.MANIFEST_PARSED, fillLevels);
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, function () {
        fillCaptions(hls.subtitleTracks.map(function (t) { return { language: t.lang, label: t.name }; }));
      });
      hls.on(Hls.Events.ERROR, function (_event, error) {
        if (!error.fatal) { return; }
        if (error.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
          recovered = true;
          hls.recoverMediaError();
          return;
        }
        playMp4("The stream failed to play (" + error.details + ").");
      });
      hls.loadSource(data.hls);
      hls.attachMedia(video);
    } else if (data.hls && video.canPlayType("application/vnd.apple.mpegurl")) {
      player.dataset.engine = "native-hls";
      addTracks();  // Safari also lists the playlist's renditions; ours name the same files
      video.src = data.hls;
    } else if (data.dash && mse) {
      playDash();
    } else {
      playMp4();
    }
  }

  // -- controls ------------------------------------------------------------------------------
  function togglePlay() {
    if (video.paused || video.ended) {
      var started = video.play();
      if (started && started.catch) {
        started.catch(function (err) { setStatus("Playback did not start: " + err.message); });
      }
    } else {
      video.pause();
    }
  }

  function syncPlay() {
    var paused = video.paused || video.ended;
    playButton.textContent = paused ? "Play" : "Pause";
    playButton.setAttribute("aria-label", paused ? "Play" : "Pause");
    player.dataset.state = paused ? "paused" : "playing";
  }

  function syncTime() {
    var total = duration();
    seek.max = String(total);
    if (!dragging) { seek.value = String(video.currentTime); }
    timeLabel.textContent = clock(video.currentTime) + " / " + clock(total);
    seek.setAttribute("aria-valuetext", clock(video.currentTime) + " of " + clock(total));
  }

  function syncMute() {
    muteButton.textContent = video.muted ? "Unmute" : "Mute";
    muteButton.setAttribute("aria-pressed", video.muted ? "true" : "false");
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (player.requestFullscreen) {
      player.requestFullscreen();
    } else if (video.webkitEnterFullscreen) {
      video.webkitEnterFullscreen(); // iOS Safari
    }
  }

  function seekBy(seconds) {
    video.currentTime = Math.min(Math.max(0, video.currentTime + seconds), duration());
  }

  function onKey(event) {
    var tag = event.target.tagName;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    // Buttons, the select and the range input handle Space and arrows themselves.
    var own = tag === "BUTTON" || tag === "SELECT" || tag === "INPUT";
    switch (event.key) {
      case " ": case "k": case "K":
        if (own && event.key === " ") { return; }
        togglePlay(); break;
      case "ArrowLeft": if (own) { return; } seekBy(-5); break;
      case "ArrowRight": if (own) { return; } seekBy(5); break;
      case "m": case "M": video.muted = !video.muted; break;
      case "f": case "F": toggleFullscreen(); break;
      default: return;
    }
    event.preventDefault();
  }

  // -- scrub previews ------------------------------------------------------------------------
  function vttTime(text) {
    var parts = text.trim().split(":").map(parseFloat);
    return parts.reduce(function (acc, part) { return acc * 60 + part; }, 0);
  }

  function parseSprites(text, base) {
    var lines = text.split(/\r?\n/);
    var found = [];
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].indexOf("-->") < 0) { continue; }
      var times = lines[i].split("-->");
      var ref = (lines[i + 1] || "").trim();
      var m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(ref);
      if (!m) { continue; }
      found.push({
        start: vttTime(times[0]), end: vttTime(times[1].trim().split(/\s+/)[0]),
        url: new URL(m[1], base).href, x: +m[2], y: +m[3], w: +m[4], h: +m[5],
      });
    }
    return found;
  }

  function cueAt(t) {
    for (var i = 0; i < cues.length; i++) {
      if (t >= cues[i].start && t < cues[i].end) { return cues[i]; }
    }
    return cues.length && t >= cues[cues.length - 1].end ? cues[cues.length - 1] : null;
  }

  function showPreview(fraction) {
    var t = fraction * duration();
    var cue = cueAt(t);
    if (!cue) { preview.hidden = true; return; }
    var scale = Math.min(1, PREVIEW_WIDTH / cue.w);
    // The cell at its own size, scaled down inside a frame of the shown size.
    frame.style.width = Math.round(cue.w * scale) + "px";
    frame.style.height = Math.round(cue.h * scale) + "px";
    thumb.style.width = cue.w + "px";
    thumb.style.height = cue.h + "px";
    thumb.style.transform = "scale(" + scale + ")";
    thumb.style.backgroundImage = 'url("' + cue.url.replace(/"/g, "%22") + '")';
    thumb.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
    previewTime.textContent = clock(t);
    var width = seek.getBoundingClientRect().width;
    var half = (cue.w * scale) / 2 + 3;
    preview.style.left = Math.min(Math.max(fraction * width, half), Math.max(half, width - half)) + "px";
    preview.hidden = false;
  }

  function pointerFraction(event) {
    var rect = seek.getBoundingClientRect();
    return rect.width ? Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1) : 0;
  }

  function loadSprites() {
    if (!data.sprites_vtt || !window.fetch) { return; }
    fetch(data.sprites_vtt)
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (text) {
        cues = parseSprites(text, data.sprites_vtt);
        player.dataset.sprites = String(cues.length);
      })
      .catch(function () { cues = []; });
  }

  // -- wiring --------------------------------------------------------------------------------
  video.controls = false; // ours replace the browser's, so previews can sit above the seek bar
  controls.hidden = false;
  playButton.addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  muteButton.addEventListener("click", function () { video.muted = !video.muted; });
  fullscreenButton.addEventListener("click", toggleFullscreen);
  quality.addEventListener("change", function () {
    if (hls) { hls.currentLevel = parseInt(quality.value, 10); }
    if (shakaPlayer) { chooseTrack(parseInt(quality.value, 10)); }
  });
  captions.addEventListener("change", chooseCaptions);
  ["play", "pause", "ended"].forEach(function (name) { video.addEventListener(name, syncPlay); });
  ["timeupdate", "durationchange", "loadedmetadata", "seeked"].forEach(function (name) {
    video.addEventListener(name, syncTime);
  });
  video.addEventListener("volumechange", syncMute);
  video.addEventListener("waiting", function () { setStatus("Loading…"); });
  video.addEventListener("playing", function () { setStatus(""); });
  video.addEventListener("error", function () {
    if (player.dataset.engine === "mp4" || player.dataset.engine === "none") {
      setStatus("The video could not be played.");
    }
  });
  seek.addEventListener("input", function () {
    dragging = true;
    video.currentTime = parseFloat(seek.value);
    showPreview(duration() ? parseFloat(seek.value) / duration() : 0);
  });
  seek.addEventListener("change", function () { dragging = false; preview.hidden = true; });
  seek.addEventListener("pointermove", function (event) { showPreview(pointerFraction(event)); });
  seek.addEventListener("pointerleave", function () { preview.hidden = true; });
  seek.addEventListener("blur", function () { dragging = false; preview.hidden = true; });
  player.addEventListener("keydown", onKey);

  // Inside the console's media page (a same-origin frame): drop the page chrome and tell the
  // parent how tall the player is, so the frame fits it without scroll bars.
  function embed() {
    var parentOrigin;
    try { parentOrigin = window.parent.location.origin; } catch (e) { return; }
    if (window.parent === window || parentOrigin !== window.location.origin) { return; }
    document.body.classList.add("embedded");
    var report = function () {
      window.parent.postMessage({ openvodPlayerHeight: document.documentElement.scrollHeight },
                                window.location.origin);
    };
    if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
    report();
  }

  syncPlay();
  syncMute();
  syncTime();
  attach();
  loadSprites();
  embed();
}());
