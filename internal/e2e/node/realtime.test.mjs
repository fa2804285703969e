// The official OpenAI Node SDK against the realtimesecret middleware.
//
// TestNodeSDK (internal/e2e/nodesdk_test.go) starts the fake upstream and the
// middleware, then runs this file with node --test and these variables:
//
//   E2E_BASE_URL         the middleware's root, e.g. http://127.0.0.1:41234
//   E2E_UPSTREAM_LOG     path that lists what the fake upstream received
//   E2E_VK_WEB           a virtual key that may mint anything
//   E2E_VK_DISABLED      a disabled virtual key (403)
//   E2E_VK_RATE          a virtual key allowed one mint per hour (429 after)
//   E2E_KEY_REALTIME     the upstream key for realtime models
//   E2E_KEY_TRANSCRIBE   the upstream key for transcription models
//   E2E_KEY_TRANSLATE    the upstream key for translation models
//   E2E_KEY_LIVE         the upstream key for GPT-Live models
//   E2E_SDP_OFFER        a WebRTC SDP offer as a browser makes it
//
// The SDK is used unchanged but for baseURL and apiKey.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set: run this suite through "go test -run TestNodeSDK" in internal/e2e`);
  return v;
};

let base;
before(() => {
  base = env('E2E_BASE_URL');
});

// client returns the SDK aimed at the middleware. Retries are off so that
// each call is one request and error cases show one answer.
const client = (path, apiKey = env('E2E_VK_WEB')) =>
  new OpenAI({ apiKey, baseURL: base + path, maxRetries: 0, timeout: 10_000 });

// lastUpstream returns the last request the fake upstream received.
async function lastUpstream() {
  const res = await fetch(base + env('E2E_UPSTREAM_LOG'));
  assert.equal(res.status, 200);
  const log = await res.json();
  assert.ok(log.length > 0, 'the upstream received nothing');
  return { last: log.at(-1), count: log.length };
}

async function upstreamCount() {
  const res = await fetch(base + env('E2E_UPSTREAM_LOG'));
  return (await res.json()).length;
}

function assertMinted(secret, ttl) {
  const now = Math.floor(Date.now() / 1000);
  assert.match(secret.value, /^ek_/);
  assert.ok(secret.expires_at > now, `expires_at ${secret.expires_at} is not in the future`);
  assert.ok(secret.expires_at <= now + ttl, `expires_at ${secret.expires_at} is past the requested ${ttl} s`);
}

describe('client secrets through the middleware', () => {
  test('realtime, provider-scoped base URL', async () => {
    const secret = await client('/openai/v1').realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 120 },
      session: { type: 'realtime', model: 'gpt-realtime', instructions: 'You are a friendly assistant.' },
    });
    assertMinted(secret, 120);
    assert.equal(secret.session.model, 'gpt-realtime');

    const { last } = await lastUpstream();
    assert.equal(last.path, '/v1/realtime/client_secrets');
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_REALTIME')}`);
    assert.equal(last.x_virtual_key, '');
    assert.equal(last.body.session.model, 'gpt-realtime');
    assert.equal(last.body.session.instructions, 'You are a friendly assistant.');
  });

  test('realtime, provider/model on /v1', async () => {
    const secret = await client('/v1').realtime.clientSecrets.create({
      session: { type: 'realtime', model: 'openai/gpt-realtime-mini' },
    });
    assertMinted(secret, 600);

    const { last } = await lastUpstream();
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_REALTIME')}`);
    assert.equal(last.body.session.model, 'gpt-realtime-mini', 'the provider prefix is stripped');
  });

  test('transcription session, provider/model on /v1', async () => {
    const secret = await client('/v1').realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 300 },
      session: {
        type: 'transcription',
        audio: { input: { transcription: { model: 'openai/gpt-4o-transcribe', language: 'en' } } },
      },
    });
    assertMinted(secret, 300);
    assert.equal(secret.session.type, 'transcription');

    const { last } = await lastUpstream();
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_TRANSCRIBE')}`);
    assert.equal(last.body.session.audio.input.transcription.model, 'gpt-4o-transcribe');
  });

  test('translation client secret, provider-scoped base URL', async () => {
    const secret = await client('/openai/v1').realtime.translations.clientSecrets.create({
      session: { model: 'gpt-realtime-translate', audio: { output: { language: 'es' } } },
    });
    assertMinted(secret, 600);

    const { last } = await lastUpstream();
    assert.equal(last.path, '/v1/realtime/translations/client_secrets');
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_TRANSLATE')}`);
    assert.equal(last.body.session.model, 'gpt-realtime-translate');
  });
});

describe('errors surface as the SDK error classes', () => {
  // Each case: what the SDK is given, the class it must throw, and the
  // OpenAI error fields the middleware wrote.
  const cases = [
    {
      name: '400 BadRequestError with param for an unconfigured provider',
      path: '/v1',
      model: 'nope/gpt-realtime',
      cls: OpenAI.BadRequestError,
      want: { status: 400, type: 'invalid_request_error', code: 'unknown_provider', param: 'session.model' },
    },
    {
      name: '401 AuthenticationError for an unknown virtual key',
      path: '/openai/v1',
      apiKey: 'vk-e2e-unknown',
      model: 'gpt-realtime',
      cls: OpenAI.AuthenticationError,
      want: { status: 401, type: 'authentication_error', code: 'invalid_api_key', param: null },
    },
    {
      name: '403 PermissionDeniedError for a disabled virtual key',
      path: '/openai/v1',
      apiKey: () => env('E2E_VK_DISABLED'),
      model: 'gpt-realtime',
      cls: OpenAI.PermissionDeniedError,
      want: { status: 403, type: 'permission_error', code: 'virtual_key_disabled', param: null },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const apiKey = typeof c.apiKey === 'function' ? c.apiKey() : (c.apiKey ?? env('E2E_VK_WEB'));
      const before = await upstreamCount();
      await assert.rejects(
        client(c.path, apiKey).realtime.clientSecrets.create({ session: { type: 'realtime', model: c.model } }),
        (err) => {
          assert.ok(err instanceof c.cls, `got ${err.constructor.name}: ${err.message}`);
          assert.equal(err.status, c.want.status);
          assert.equal(err.type, c.want.type);
          assert.equal(err.code, c.want.code);
          assert.equal(err.param, c.want.param);
          assert.ok(!err.message.includes(apiKey), 'the key is not echoed');
          return true;
        },
      );
      assert.equal(await upstreamCount(), before, 'a refused mint never reaches the upstream');
    });
  }

  test('429 RateLimitError with Retry-After once the virtual key is over its rate', async () => {
    const sdk = client('/openai/v1', env('E2E_VK_RATE'));
    const body = { session: { type: 'realtime', model: 'gpt-realtime' } };
    assertMinted(await sdk.realtime.clientSecrets.create(body), 600);
    await assert.rejects(sdk.realtime.clientSecrets.create(body), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `got ${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, 429);
      assert.equal(err.type, 'rate_limit_error');
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.ok(Number(err.headers.get('retry-after')) > 0, 'Retry-After is a positive number of seconds');
      return true;
    });
  });
});

// upstreamParts reads the multipart/form-data body the fake upstream
// received into { name: text }, with the part names in order.
async function upstreamParts(req) {
  assert.match(req.content_type, /^multipart\/form-data; boundary=/);
  const form = await new Response(req.body, { headers: { 'content-type': req.content_type } }).formData();
  const names = [...form.keys()];
  const parts = { names };
  for (const [name, value] of form.entries()) parts[name] = typeof value === 'string' ? value : await value.text();
  return parts;
}

// callID returns the id at the end of a call's Location.
const callID = (location) => location.slice(location.lastIndexOf('/') + 1);

describe('brokered sessions', () => {
  test('realtime.calls.create with a session, provider/model on /v1, then hangup', async () => {
    const sdk = client('/v1');
    const res = await sdk.realtime.calls.create({
      sdp: env('E2E_SDP_OFFER'),
      session: { type: 'realtime', model: 'openai/gpt-realtime', instructions: 'You are a friendly assistant.' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    const location = res.headers.get('location');
    assert.match(location, /^\/v1\/realtime\/calls\/rtc_[A-Za-z0-9_-]+$/);
    assert.match(await res.text(), /^v=0\r\n/, 'the body is the SDP answer');

    const { last } = await lastUpstream();
    assert.equal(last.path, '/v1/realtime/calls');
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_REALTIME')}`);
    assert.equal(last.x_virtual_key, '');
    const parts = await upstreamParts(last);
    assert.deepEqual(parts.names, ['sdp', 'session']);
    assert.equal(parts.sdp, env('E2E_SDP_OFFER'), 'the offer byte for byte');
    const session = JSON.parse(parts.session);
    assert.equal(session.model, 'gpt-realtime', 'the bare model');
    assert.equal(session.instructions, 'You are a friendly assistant.');

    await sdk.realtime.calls.hangup(callID(location));
    const after = await lastUpstream();
    assert.equal(after.last.path, `/v1/realtime/calls/${callID(location)}/hangup`);
    assert.equal(after.last.authorization, `Bearer ${env('E2E_KEY_REALTIME')}`);
  });

  test('realtime.calls.create without a session sends raw application/sdp: works on the provider-scoped route', async () => {
    const before = await upstreamCount();
    const res = await client('/openai/v1').realtime.calls.create({ sdp: env('E2E_SDP_OFFER') });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    assert.match(res.headers.get('location'), /^\/openai\/v1\/realtime\/calls\/rtc_[A-Za-z0-9_-]+$/);
    assert.match(await res.text(), /^v=0\r\n/);

    const { last, count } = await lastUpstream();
    assert.equal(count, before + 1);
    assert.equal(last.path, '/v1/realtime/calls');
    const keys = ['E2E_KEY_REALTIME', 'E2E_KEY_TRANSCRIBE', 'E2E_KEY_TRANSLATE', 'E2E_KEY_LIVE'].map((k) => `Bearer ${env(k)}`);
    assert.ok(keys.includes(last.authorization), 'a real key, never the virtual key');
    const parts = await upstreamParts(last);
    assert.deepEqual(parts.names, ['sdp'], 'forwarded as multipart with the offer alone: the provider default model');
    assert.equal(parts.sdp, env('E2E_SDP_OFFER'));
  });

  test('realtime.calls.create without a session on /v1 is a 400 that says how to name the provider', async () => {
    const before = await upstreamCount();
    await assert.rejects(client('/v1').realtime.calls.create({ sdp: env('E2E_SDP_OFFER') }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'missing_provider');
      assert.match(err.message, /provider\/model/);
      return true;
    });
    assert.equal(await upstreamCount(), before, 'nothing sent upstream');
  });

  test('live.create on /v1 with provider/model, then live.sessions.hangup', async () => {
    const sdk = client('/v1');
    const live = await sdk.live.create({
      session: { model: 'openai/gpt-live-1', instructions: 'You are a friendly assistant.' },
      transport: { type: 'webrtc', sdp: env('E2E_SDP_OFFER') },
    });
    assert.ok(live.session.id, 'session.id');
    assert.equal(live.transport.type, 'webrtc');
    assert.match(live.transport.sdp, /^v=0\r\n/, 'transport.sdp is the SDP answer');

    const { last } = await lastUpstream();
    assert.equal(last.path, '/v1/live/sessions');
    assert.equal(last.authorization, `Bearer ${env('E2E_KEY_LIVE')}`);
    assert.deepEqual(last.body, {
      session: { model: 'gpt-live-1', instructions: 'You are a friendly assistant.' },
      transport: { type: 'webrtc', sdp: env('E2E_SDP_OFFER') },
    }, 'the bare model and nothing added: GPT-Live rejects unknown fields');

    // A WebRTC GPT-Live session is ended as OpenAI documents: session.close
    // on an attach, with the key that created it (hang-up is for SIP).
    await sdk.live.sessions.hangup(live.session.id);
    const after = await lastUpstream();
    assert.equal(after.last.path, `/v1/live/sessions/${live.session.id}/attach`);
    assert.equal(after.last.authorization, `Bearer ${env('E2E_KEY_LIVE')}`);
  });

  test('live.create with a disabled virtual key is a PermissionDeniedError', async () => {
    const before = await upstreamCount();
    await assert.rejects(
      client('/v1', env('E2E_VK_DISABLED')).live.create({
        session: { model: 'openai/gpt-live-1' },
        transport: { type: 'webrtc', sdp: env('E2E_SDP_OFFER') },
      }),
      (err) => {
        assert.ok(err instanceof OpenAI.PermissionDeniedError, `got ${err.constructor.name}: ${err.message}`);
        assert.equal(err.status, 403);
        return true;
      },
    );
    assert.equal(await upstreamCount(), before);
  });
});
