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

// Brokers a WebRTC call the way a voice app's page does without ever
// holding a provider key: it makes an offer (audio to receive, and the
// data channel the Realtime API sends events on), posts it with the model
// to the sidecar's calls route, and applies the SDP answer. The call id is
// the last segment of the answer's Location; hanging up posts to
// {calls}/{id}/hangup.
(() => {
  const $ = (id) => document.getElementById(id);
  const callsPath = document.querySelector('meta[name="realtimesecret-calls-path"]').content;
  const auth = () => ({ 'Authorization': `Bearer ${$('vk').value}` });
  let pc = null;
  let callID = '';

  const show = (state, text) => {
    $('call-result').dataset.state = state;
    $('call-status').textContent = text;
  };
  const failure = async (res) => {
    const body = await res.json().catch(() => null);
    return `${res.status}: ${body?.error?.message ?? res.statusText}`;
  };
  const close = () => {
    if (pc) pc.close();
    pc = null;
    callID = '';
    $('hangup').disabled = true;
  };

  $('call').addEventListener('click', async () => {
    close();
    $('call-details').hidden = true;
    show('pending', 'Making an offer…');
    try {
      pc = new RTCPeerConnection();
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.createDataChannel('oai-events');
      await pc.setLocalDescription(await pc.createOffer());

      const form = new FormData();
      form.set('sdp', pc.localDescription.sdp);
      form.set('session', JSON.stringify({ type: 'realtime', model: $('model').value }));
      show('pending', 'Posting the offer…');
      const res = await fetch(new URL(callsPath, $('sidecar').value), { method: 'POST', headers: auth(), body: form });
      if (!res.ok) {
        show('error', await failure(res));
        close();
        return;
      }
      const answer = await res.text();
      const location = res.headers.get('Location') ?? '';
      callID = location.slice(location.lastIndexOf('/') + 1);
      $('call-id').textContent = callID;
      $('answer').textContent = answer;
      $('call-details').hidden = false;
      $('hangup').disabled = callID === '';
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      show('ok', 'Call created and its answer applied. In demo mode no media flows: the answer comes from a fake upstream.');
    } catch (err) {
      show('error', `The call failed (${err.name}: ${err.message}).`);
    }
  });

  $('hangup').addEventListener('click', async () => {
    const path = `${callsPath}/${encodeURIComponent(callID)}/hangup`;
    show('pending', 'Hanging up…');
    try {
      const res = await fetch(new URL(path, $('sidecar').value), { method: 'POST', headers: auth() });
      show(res.ok ? 'ok' : 'error', res.ok ? `Call ${callID} hung up.` : await failure(res));
      if (res.ok) close();
    } catch (err) {
      show('error', `The hang-up failed (${err.name}: ${err.message}).`);
    }
  });
})();
