/*
 * Media as the site handles it, under the site's module names:
 *   WAWebMediaOpaqueData     createFromData(file, mimetype) -> OpaqueData (a Blob and its url)
 *   WAWebPrepRawMedia        prepRawMedia(opaque, {asSticker, asGif, isPtt, asDocument})
 *                            .waitForPrep() -> MediaData (type, filehash, mimetype, size, width,
 *                            height, duration, preview (a JPEG thumbnail), mediaBlob, toJSON())
 *   WAWebMediaStorage        getOrCreateMediaObject(filehash) -> the file's media object
 *   WAWebMmsMediaTypes       msgToMediaType({type, isGif})
 *   WAWebMediaGatingUtils    getUploadLimit(mediaType)
 *   WAWebMediaMmsV4Upload    uploadMedia({mimetype, mediaObject, mediaType}) -> {mediaEntry}
 *   WAWebDownloadManager     downloadManager.downloadAndMaybeDecrypt({directPath, filehash, ...,
 *                            downloadQpl}) (downloadQpl required from 2026-08)
 * and FakeWAMedia, what Msg.mediaData and Msg.downloadMedia use. Files go to the simulator's CDN
 * over HTTP (POST /mms/<type>, GET <directPath>), as the site's go to mmg.whatsapp.net; they are
 * not encrypted here, but a download is checked against its filehash as the site checks it.
 */
(function () {
  'use strict';
  const { Model } = require('FakeWARuntime');
  const config = require('FakeWAConfig');
  const link = () => require('FakeWALink');
  // What the site's download path records its progress in; from 2026-08 it is required.
  const quietQpl = { addPoint() { return this; }, addAnnotations() { return this; } };

  // -- bytes ------------------------------------------------------------------------------------
  function b64(buffer) {
    const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    let out = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(out);
  }

  async function sha256B64(buffer) {
    return b64(await crypto.subtle.digest('SHA-256', buffer));
  }

  function fault(message) { return new Error('media-fault: ' + message); }

  /** Whole seconds of an Ogg/Opus file: the last page's granule position less the pre-skip. */
  function oggDuration(buffer) {
    const u8 = new Uint8Array(buffer);
    const isOggS = (i) => u8[i] === 0x4f && u8[i + 1] === 0x67 && u8[i + 2] === 0x67 && u8[i + 3] === 0x53;
    if (u8.length < 64 || !isOggS(0)) return undefined;
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    let head = -1;
    for (let i = 0; i < Math.min(u8.length - 12, 4096); i++) {
      if (String.fromCharCode.apply(null, u8.subarray(i, i + 8)) === 'OpusHead') { head = i; break; }
    }
    if (head < 0) return undefined;
    const preSkip = view.getUint16(head + 10, true);
    for (let i = u8.length - 14; i >= Math.max(0, u8.length - 65536); i--) {
      if (!isOggS(i)) continue;
      const granule = Number(view.getBigInt64(i + 6, true));
      return granule > 0 ? Math.max(0, Math.round((granule - preSkip) / 48000)) : undefined;
    }
    return undefined;
  }

  /** A small JPEG of a picture or a video frame, base64, as the site carries inline. */
  async function jpegThumbnail(source, width, height) {
    const scale = Math.min(1, 100 / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = new OffscreenCanvas(w, h);
    canvas.getContext('2d').drawImage(source, 0, 0, w, h);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.6 });
    return b64(await blob.arrayBuffer());
  }

  /** Duration, size and a frame of an audio or video file, as the page's player reads them. */
  function probeMedia(blob, isVideo) {
    return new Promise((resolve) => {
      const el = document.createElement(isVideo ? 'video' : 'audio');
      const url = URL.createObjectURL(blob);
      let done = false;
      const finish = (info) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        URL.revokeObjectURL(url);
        el.removeAttribute('src');
        try { el.load(); } catch (e) { /* nothing loaded */ }
        resolve(info);
      };
      const timer = setTimeout(() => finish({}), 3000);
      el.preload = 'metadata';
      el.muted = true;
      el.onerror = () => finish({});
      el.onloadedmetadata = () => {
        const info = { duration: isFinite(el.duration) ? Math.round(el.duration) : undefined };
        if (!isVideo || !el.videoWidth) { finish(info); return; }
        info.width = el.videoWidth;
        info.height = el.videoHeight;
        el.onseeked = () => jpegThumbnail(el, info.width, info.height)
          .then((preview) => finish(Object.assign(info, { preview })), () => finish(info));
        el.currentTime = Math.min(0.1, (el.duration || 0) / 2);
      };
      el.src = url;
    });
  }

  // -- WAWebMediaOpaqueData ---------------------------------------------------------------------
  class OpaqueData {
    constructor(blob, filename) {
      this._blob = blob;
      this._url = null;
      this.filename = filename;
    }
    static createFromData(data, mimetype) {
      let blob = data instanceof Blob ? data : new Blob([data], { type: mimetype || '' });
      if (mimetype && blob.type !== mimetype) blob = new Blob([blob], { type: mimetype });
      return Promise.resolve(new OpaqueData(blob, data && data.name));
    }
    get size() { return this._blob ? this._blob.size : 0; }
    get type() { return this._blob ? this._blob.type : ''; }
    forceToBlob() { return this._blob; }
    arrayBuffer() { return this._blob.arrayBuffer(); }
    url() {
      if (!this._url) this._url = URL.createObjectURL(this._blob);
      return this._url;
    }
    autorelease() { setTimeout(() => this.releaseUrl(), 0); }
    releaseUrl() {
      if (this._url) URL.revokeObjectURL(this._url);
      this._url = null;
    }
    serialize() { return { size: this.size, type: this.type }; }
  }
  __d('WAWebMediaOpaqueData', function () { return OpaqueData; });

  // -- MediaData and WAWebPrepRawMedia ----------------------------------------------------------
  class MediaData extends Model {
    toJSON() { return Object.assign({}, this.attributes); }
  }
  MediaData.defineAttributes(['type', 'mimetype', 'size', 'filehash', 'filename', 'duration', 'width',
    'height', 'preview', 'mediaBlob', 'mediaStage', 'isGif', 'directPath', 'mediaKey', 'mediaKeyTimestamp',
    'encFilehash', 'clientUrl', 'deprecatedMms3Url', 'uploadhash', 'streamingSidecar', 'firstFrameSidecar']);

  function typeOf(mimetype) {
    if (mimetype.startsWith('image/')) return 'image';
    if (mimetype.startsWith('video/')) return 'video';
    if (mimetype.startsWith('audio/')) return 'audio';
    return 'document';
  }

  async function inspect(blob, buffer, type, mimetype) {
    if (type === 'image' || type === 'sticker') {
      let bitmap;
      try { bitmap = await createImageBitmap(blob); } catch (e) { throw fault('the picture cannot be read'); }
      try {
        const info = { width: bitmap.width, height: bitmap.height };
        if (type === 'image') info.preview = await jpegThumbnail(bitmap, bitmap.width, bitmap.height);
        return info;
      } finally { bitmap.close(); }
    }
    if (type === 'video') return probeMedia(blob, true);
    if (type === 'audio' || type === 'ptt') {
      const duration = mimetype.indexOf('ogg') >= 0 ? oggDuration(buffer) : undefined;
      return duration !== undefined ? { duration } : probeMedia(blob, false);
    }
    return {};
  }

  async function prepare(opaque, options) {
    const blob = opaque.forceToBlob();
    const mimetype = String(opaque.type || 'application/octet-stream');
    const base = mimetype.split(';')[0].trim().toLowerCase();
    let type = typeOf(base);
    if (options.asSticker) {
      if (base !== 'image/webp') throw fault('a sticker is a WebP picture');
      type = 'sticker';
    } else if (options.asDocument) {
      type = 'document';
    } else if (options.isPtt) {
      if (type !== 'audio') throw fault('a voice note is audio');
      type = 'ptt';
    }
    const buffer = await blob.arrayBuffer();
    const filehash = await sha256B64(buffer);
    const info = await inspect(blob, buffer, type, base);
    const mediaData = new MediaData({
      type, mimetype, size: blob.size, filehash, mediaBlob: opaque, mediaStage: 'RESOLVED', isGif: !!options.asGif,
      filename: type === 'document' ? (opaque.filename || 'file') : undefined,
      duration: info.duration, width: info.width, height: info.height, preview: info.preview,
    });
    mediaObjectOf(filehash).consolidate(mediaData.toJSON());
    return mediaData;
  }

  __d('WAWebPrepRawMedia', function () {
    return {
      prepRawMedia(opaque, options) {
        const prepared = prepare(opaque, options || {});
        prepared.catch(() => {});
        return { waitForPrep: () => prepared };
      },
    };
  });

  // -- WAWebMediaStorage, WAWebMmsMediaTypes, WAWebMediaGatingUtils -----------------------------
  const mediaObjects = new Map();
  function mediaObjectOf(filehash) {
    let object = mediaObjects.get(filehash);
    if (!object) {
      object = {
        filehash, type: undefined, size: undefined, mimetype: undefined, mediaBlob: undefined, contentInfo: {},
        consolidate(json) {
          for (const k of ['type', 'size', 'mimetype', 'mediaBlob']) if (json && json[k] !== undefined) this[k] = json[k];
        },
      };
      mediaObjects.set(filehash, object);
    }
    return object;
  }
  __d('WAWebMediaStorage', function () { return { getOrCreateMediaObject: mediaObjectOf }; });

  const MEDIA_TYPE = { image: 'image', video: 'video', audio: 'audio', ptt: 'ptt', document: 'document', sticker: 'sticker' };
  __d('WAWebMmsMediaTypes', function () {
    return {
      msgToMediaType({ type, isGif }) {
        if (type === 'video' && isGif) return 'gif';
        if (!MEDIA_TYPE[type]) throw new Error('msgToMediaType: not a media type: ' + type);
        return MEDIA_TYPE[type];
      },
    };
  });

  function uploadLimit(mediaType) {
    const config = link().config();
    return mediaType === 'document' ? config.documentLimit : config.mediaLimit;
  }
  __d('WAWebMediaGatingUtils', function () { return { getUploadLimit: uploadLimit }; });

  // -- WAWebMediaMmsV4Upload ----------------------------------------------------------------------
  async function uploadMedia({ mimetype, mediaObject, mediaType }) {
    const opaque = mediaObject && mediaObject.mediaBlob;
    const blob = opaque && opaque.forceToBlob();
    if (!blob) throw new Error('uploadMedia: no prepared file for this media object');
    if (blob.size > uploadLimit(mediaType)) throw fault('the file is larger than WhatsApp takes');
    const mediaKey = b64(crypto.getRandomValues(new Uint8Array(32)));
    const response = await fetch('/mms/' + mediaType, {
      method: 'POST',
      body: blob,
      headers: {
        Authorization: link().mediaAuth(), 'Content-Type': mimetype || blob.type || 'application/octet-stream',
        'X-WA-Filehash': mediaObject.filehash, 'X-WA-Media-Key': mediaKey,
      },
    });
    if (!response.ok) {
      const error = new Error('uploadMedia: the CDN answered HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    const answer = await response.json();
    mediaObject.mediaBlob = undefined; // uploaded: the message keeps the file, the store only its facts
    return {
      mediaEntry: {
        mmsUrl: answer.url, deprecatedMms3Url: answer.url, directPath: answer.direct_path, mediaKey,
        mediaKeyTimestamp: answer.mediaKeyTimestamp, encFilehash: answer.encFilehash, uploadHash: answer.encFilehash,
        sidecar: undefined, firstFrameSidecar: undefined, handle: null,
      },
    };
  }
  __d('WAWebMediaMmsV4Upload', function () {
    return { uploadMedia, uploadUnencryptedMedia: uploadMedia };
  });

  // -- WAWebDownloadManager -------------------------------------------------------------------------
  async function downloadAndMaybeDecrypt({ directPath, filehash, signal, downloadQpl }) {
    if (!directPath) throw new Error('downloadAndMaybeDecrypt: no directPath');
    if (config.generation >= '2026-08' && !downloadQpl) {
      throw new TypeError("Cannot read properties of undefined (reading 'addPoint')");
    }
    if (downloadQpl && typeof downloadQpl.addPoint === 'function') downloadQpl.addPoint('download_start');
    const response = await fetch(directPath, { signal, cache: 'no-store' });
    if (!response.ok) {
      const error = new Error('downloadAndMaybeDecrypt: the CDN answered HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    const buffer = await response.arrayBuffer();
    if (filehash && (await sha256B64(buffer)) !== filehash) throw fault('the file does not match its filehash');
    return buffer;
  }
  const downloadManager = { downloadAndMaybeDecrypt };
  __d('WAWebDownloadManager', function () { return { downloadManager }; });

  // -- FakeWAMedia: Msg.mediaData and Msg.downloadMedia -------------------------------------------
  function mediaDataFor(msg) {
    const a = msg.attributes;
    return new MediaData({
      type: a.type, mimetype: a.mimetype, size: a.size, filehash: a.filehash, filename: a.filename,
      duration: a.duration, width: a.width, height: a.height, directPath: a.directPath,
      preview: a.type === 'image' || a.type === 'video' ? a.body : undefined,
      mediaBlob: a.mediaBlob, mediaStage: a.mediaBlob ? 'RESOLVED' : 'INIT',
    });
  }

  async function resolve(msg, options) {
    const mediaData = msg.mediaData;
    if (!mediaData || mediaData.mediaStage === 'RESOLVED') return;
    mediaData.set('mediaStage', 'FETCHING');
    try {
      const buffer = await downloadAndMaybeDecrypt({
        directPath: msg.directPath, filehash: msg.filehash, encFilehash: msg.encFilehash, mediaKey: msg.mediaKey,
        mediaKeyTimestamp: msg.mediaKeyTimestamp, type: msg.type, downloadQpl: quietQpl,
      });
      mediaData.set({ mediaBlob: new OpaqueData(new Blob([buffer], { type: msg.mimetype || '' })), mediaStage: 'RESOLVED' });
    } catch (e) {
      // Gone from the CDN: the page asks the sender's phone to upload it again, which has it no more.
      mediaData.set('mediaStage', e.status === 404 || e.status === 410 ? 'REUPLOADING' : 'ERROR_MISSING');
    }
  }

  __d('FakeWAMedia', function () { return { mediaDataFor, resolve, oggDuration, b64 }; });
})();
