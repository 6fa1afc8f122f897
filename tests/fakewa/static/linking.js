/*
 * Linking with a code instead of a QR, under the site's module names:
 *   WAWebAltDeviceLinkingApi  setPairingType('ALT_DEVICE_LINKING'), initializeAltDeviceLinking(),
 *                             startAltLinkingFlow(phone, showNotification) -> the 8-character code
 *   WAWebLinkDeviceEvents     LinkDeviceEvents, an emitter of
 *                             link_device_events:refresh_alt_linking_code   (the code's time is up)
 *                             link_device_events:force_manual_refresh
 *                             link_device_events:primary_hello_received     (the phone took the code)
 *                             link_device_events:error_alt_linking
 * A code is made here (Crockford base32 of five random bytes, as the companion makes it), offered
 * to the server for that phone, and lives pairCodeTtl; then the page asks for a new one with
 * refresh_alt_linking_code. Whoever drives the page answers it (or not).
 */
(function () {
  'use strict';
  const { Emitter } = require('FakeWARuntime');
  const config = require('FakeWAConfig');
  const link = () => require('FakeWALink');
  const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

  class LinkDeviceEventsEmitter extends Emitter {
    triggerRefreshAltLinkingCode() { this.trigger('link_device_events:refresh_alt_linking_code'); }
  }
  const LinkDeviceEvents = new LinkDeviceEventsEmitter();
  __d('WAWebLinkDeviceEvents', function () { return { LinkDeviceEvents }; });

  let pairingType = 'QR';
  let initialized = false;
  let ttlTimer = null;

  function newCode() {
    const bytes = crypto.getRandomValues(new Uint8Array(5));
    let bits = 0;
    let value = 0;
    let out = '';
    for (const b of bytes) {
      value = (value << 8) | b;
      bits += 8;
      while (bits >= 5) {
        out += CROCKFORD[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    return out;
  }

  function stop() {
    clearTimeout(ttlTimer);
    ttlTimer = null;
  }

  __d('WAWebAltDeviceLinkingApi', function () {
    return {
      setPairingType(type) { pairingType = String(type); },
      initializeAltDeviceLinking() {
        initialized = true;
        return Promise.resolve();
      },
      async startAltLinkingFlow(phone, showNotification) {
        if (pairingType !== 'ALT_DEVICE_LINKING' || !initialized) {
          throw new Error('alt pairing: unexpected error happened while starting flow (not initialized)');
        }
        const state = require('WAWebSocketModel').Socket.state;
        if (state !== 'UNPAIRED' && state !== 'UNPAIRED_IDLE') {
          throw new Error('alt pairing: the page is ' + state + ', not waiting to be linked');
        }
        const code = newCode();
        await link().requestUnpaired({ type: 'alt_link', phone: String(phone), code, notify: !!showNotification });
        stop();
        ttlTimer = setTimeout(() => {
          ttlTimer = null;
          LinkDeviceEvents.triggerRefreshAltLinkingCode();
        }, config.pairCodeTtl);
        return code;
      },
    };
  });

  __d('FakeWALinking', function () {
    return {
      /** The phone took the code (pairing begins): no more refreshes. */
      primaryHello() {
        if (ttlTimer === null) return;
        stop();
        LinkDeviceEvents.trigger('link_device_events:primary_hello_received');
      },
      stop,
    };
  });
})();
