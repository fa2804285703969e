'use strict';
// Mints a client secret the way a voice app's page does, and shows when it
// expires. The sidecar defaults to this page's origin; ?sidecar=URL points
// it at another one, which then needs this origin in cors.allowed_origins.
(() => {
  const $ = (id) => document.getElementById(id);
  const mintPath = document.querySelector('meta[name="realtimesecret-mint-path"]').content;
  $('sidecar').value = new URLSearchParams(location.search).get('sidecar') || location.origin;
  let timer;

  const show = (state, text) => {
    $('result').dataset.state = state;
    $('status').textContent = text;
  };

  const countdown = (expiresAt) => {
    clearInterval(timer);
    const tick = () => {
      const left = expiresAt - Math.floor(Date.now() / 1000);
      $('countdown').textContent = left > 0 ? `expires in ${left} s` : 'expired';
      if (left <= 0) clearInterval(timer);
    };
    tick();
    timer = setInterval(tick, 1000);
  };

  $('mint').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('secret').hidden = true;
    delete $('result').dataset.expiresAt;
    show('pending', 'Minting…');
    let res;
    try {
      res = await fetch(new URL(mintPath, $('sidecar').value), {
        method: 'POST',
        headers: { 'Authorization': `Bearer ${$('vk').value}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          expires_after: { anchor: 'created_at', seconds: Number($('ttl').value) },
          session: { type: 'realtime', model: $('model').value },
        }),
      });
    } catch (err) {
      // fetch rejects without a status when the browser refuses the answer
      // (CORS) or cannot connect at all.
      show('error', `The browser refused the mint or could not reach the sidecar (${err.name}: ${err.message}). ` +
        `Is this page's origin, ${location.origin}, in the sidecar's cors.allowed_origins?`);
      return;
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const retry = res.headers.get('Retry-After');
      show('error', `${res.status}: ${body?.error?.message ?? res.statusText}` + (retry ? ` (retry after ${retry} s)` : ''));
      return;
    }
    const at = new Date(body.expires_at * 1000);
    $('value').textContent = body.value;
    $('expires').dateTime = at.toISOString();
    $('expires').textContent = at.toLocaleString();
    $('result').dataset.expiresAt = String(body.expires_at);
    $('secret').hidden = false;
    countdown(body.expires_at);
    show('ok', 'Minted. A voice app now hands the secret to WebRTC or a WebSocket as its bearer token.');
  });
})();
