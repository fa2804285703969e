// The official SDKs against realtimesecretd's xAI and Gemini providers.
//
// TestNodeSDKProviders (internal/e2e/providers_test.go) starts a fake xAI, a
// fake Gemini API and a fake OpenAI on loopback, and the realtimesecretd
// binary in front of them, then runs this file with node --test and:
//
//   E2E_SIDECAR_URL       the sidecar's root, e.g. http://127.0.0.1:41234
//   E2E_FAKES_URL         serves what the fakes received: /xai/requests,
//                         /xai/minted, /gemini/requests, /gemini/tokens,
//                         /openai/requests, /proxy/requests (the stand-in
//                         for the existing proxy the sidecar passes the
//                         rest to: redemptions arrive there attributed)
//   E2E_VK_VOICE          a virtual key: models gpt-realtime,
//                         grok-voice-latest, gemini-live-2.5-flash-preview;
//                         max_ttl E2E_MAX_TTL_SECONDS; max_uses E2E_MAX_USES
//   E2E_VK_VOICE_XAI_1    grok-voice-latest only, one mint per hour
//   E2E_VK_VOICE_GEM_1    gemini-live-2.5-flash-preview only, one mint per hour
//   E2E_VK_VOICE_ABSENT   a virtual key the sidecar does not know
//   E2E_VK_VOICE_ONE      grok-voice-latest and gemini-live-2.5-flash-preview,
//                         max_sessions: 1
//   E2E_OPENAI_KEY, E2E_XAI_KEY, E2E_GEMINI_KEY   the provider keys
//
// The SDKs are used unchanged but for their base URL and API key: openai
// (7.x) with baseURL <sidecar>/xai/v1 (or /v1 with the model written
// xai/<model>), and @google/genai with httpOptions.baseUrl <sidecar>/gemini.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ApiError, GoogleGenAI, Modality } from '@google/genai';
import OpenAI from 'openai';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} is not set: run this suite through "go test -run TestNodeSDKProviders" in internal/e2e`);
  return v;
};

const GROK = 'grok-voice-latest';
const GEMINI = 'gemini-live-2.5-flash-preview';
const XAI_SECRET_PREFIX = 'xai-realtime-client-secret-';

let sidecar, maxTTL, maxUses;
before(() => {
  sidecar = env('E2E_SIDECAR_URL');
  maxTTL = Number(env('E2E_MAX_TTL_SECONDS'));
  maxUses = Number(env('E2E_MAX_USES'));
});

// fakes returns what one fake received, as the Go test serves it.
async function fakes(path) {
  const res = await fetch(env('E2E_FAKES_URL') + path, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return res.json();
}

// header returns a header of a recorded request, whatever its case.
const header = (req, name) => {
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.toLowerCase() === name.toLowerCase()) return v.join(', ');
  }
  return undefined;
};

// assertNoVirtualKey checks that no header of a request a fake received
// carries a virtual key.
function assertNoVirtualKey(req) {
  const vks = ['E2E_VK_VOICE', 'E2E_VK_VOICE_XAI_1', 'E2E_VK_VOICE_GEM_1', 'E2E_VK_VOICE_ONE'].map(env);
  for (const [name, values] of Object.entries(req.headers)) {
    for (const v of values) {
      for (const vk of vks) assert.ok(!v.includes(vk), `header ${name} carries a virtual key upstream`);
    }
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// eventually retries attempt (an async function) until it resolves, for
// at most 10 s, and returns its value; a lease is given back once the
// sidecar has seen the previous connection close.
async function eventually(attempt) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

// xaiSocket opens a WebSocket through the sidecar presenting secret as
// xAI's browser guide does, and resolves with it and its first event; it
// rejects when the socket fails or closes first.
function xaiSocket(secret) {
  const ws = new WebSocket(sidecar.replace(/^http/, 'ws') + `/xai-proxy/v1/realtime?model=${GROK}`, [`xai-client-secret.${secret}`]);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.close(); reject(new Error('no event within 10 s')); }, 10_000);
    ws.onmessage = (e) => { clearTimeout(timer); resolve({ ws, first: JSON.parse(e.data) }); };
    ws.onerror = () => { clearTimeout(timer); reject(new Error('WebSocket error')); };
    ws.onclose = (e) => { clearTimeout(timer); reject(new Error(`WebSocket closed (${e.code})`)); };
  });
}
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString();

describe('openai-node: xAI client secrets through the sidecar', () => {
  // The SDK aimed at the sidecar. Retries are off so that each call is one
  // request and error cases show one answer.
  const xai = (path = '/xai/v1', apiKey = env('E2E_VK_VOICE')) =>
    new OpenAI({ apiKey, baseURL: sidecar + path, maxRetries: 0, timeout: 10_000 });

  async function lastXAI() {
    const reqs = await fakes('/xai/requests');
    assert.ok(reqs.length > 0, 'xAI received nothing');
    const last = reqs.at(-1);
    assert.equal(last.method, 'POST');
    assert.equal(last.path, '/v1/realtime/client_secrets');
    assert.equal(header(last, 'authorization'), `Bearer ${env('E2E_XAI_KEY')}`, 'the provider key, not the virtual key');
    assertNoVirtualKey(last);
    return { last, count: reqs.length };
  }

  async function assertXAISecret(secret, from, seconds) {
    assert.ok(secret.value.startsWith(XAI_SECRET_PREFIX), `an xAI secret: ${secret.value}`);
    const minted = await fakes('/xai/minted');
    assert.equal(secret.value, minted.at(-1), 'the secret xAI minted, handed back as it is');
    assert.ok(secret.expires_at >= from + seconds - 1, `expires_at ${secret.expires_at} is before ${from} + ${seconds} s`);
    assert.ok(secret.expires_at <= nowSeconds() + seconds + 1, `expires_at ${secret.expires_at} is after now + ${seconds} s`);
  }

  test('provider-scoped base URL: a secret, xAI sent only expires_after.seconds', async () => {
    const from = nowSeconds();
    const secret = await xai().realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 120 },
      session: { type: 'realtime', model: GROK },
    });
    await assertXAISecret(secret, from, 120);
    const { last } = await lastXAI();
    assert.deepEqual(last.body, { expires_after: { seconds: 120 } }, 'the model, session.type and anchor are not sent to xAI');
  });

  test("the lifetime is clamped to the key's max_ttl", async () => {
    const from = nowSeconds();
    const secret = await xai().realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 3000 },
      session: { type: 'realtime', model: GROK },
    });
    await assertXAISecret(secret, from, maxTTL);
    const { last } = await lastXAI();
    assert.deepEqual(last.body, { expires_after: { seconds: maxTTL } });
  });

  test("xai/<model> on /v1, no expiry asked: the key's max_ttl is injected", async () => {
    const from = nowSeconds();
    const secret = await xai('/v1').realtime.clientSecrets.create({ session: { type: 'realtime', model: `xai/${GROK}` } });
    await assertXAISecret(secret, from, maxTTL);
    const { last } = await lastXAI();
    assert.deepEqual(last.body, { expires_after: { seconds: maxTTL } });
  });

  // xAI's browser guide presents the secret in the WebSocket subprotocol
  // "xai-client-secret.<secret>"; no SDK is involved at that end, so the
  // platform's own WebSocket (Node 22's, as a browser's) opens it.
  test('the secret opens a WebSocket through the sidecar, attributed to the virtual key', async () => {
    const secret = await xai().realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 60 },
      session: { type: 'realtime', model: GROK },
    });
    const { ws, first } = await xaiSocket(secret.value);
    ws.close();
    assert.equal(first.type, 'conversation.created', 'the provider end answered through the sidecar');

    const last = (await fakes('/proxy/requests')).at(-1);
    assert.equal(last.path, '/xai-proxy/v1/realtime');
    assert.equal(last.subprotocol, `xai-client-secret.${secret.value}`, 'the secret reached the provider end');
    assert.equal(header(last, 'x-realtime-provider'), 'xai');
    assert.equal(header(last, 'x-realtime-virtual-key-id'), 'voice');
    assert.equal(header(last, 'x-realtime-key-id'), 'x1');
    assert.equal(header(last, 'x-realtime-model'), GROK);
  });

  test('max_sessions: 1 holds across redemptions through the sidecar', async () => {
    const client = xai('/xai/v1', env('E2E_VK_VOICE_ONE'));
    const mint = () => client.realtime.clientSecrets.create({ session: { type: 'realtime', model: GROK } });
    const [a, b] = [await mint(), await mint()];
    const first = await xaiSocket(a.value);
    const before = (await fakes('/proxy/requests')).length;
    await assert.rejects(xaiSocket(b.value), /WebSocket (error|closed)/, 'a second session of the key is refused');
    assert.equal((await fakes('/proxy/requests')).length, before, 'the second session did not reach the provider end');
    first.ws.close();
    const second = await eventually(() => xaiSocket(b.value));
    second.ws.close();
    assert.equal(header((await fakes('/proxy/requests')).at(-1), 'x-realtime-virtual-key-id'), 'voice-one');
  });

  test('the same virtual key mints OpenAI secrets on the same sidecar', async () => {
    const secret = await xai('/v1').realtime.clientSecrets.create({
      expires_after: { anchor: 'created_at', seconds: 60 },
      session: { type: 'realtime', model: 'openai/gpt-realtime' },
    });
    assert.match(secret.value, /^ek_/);
    const reqs = await fakes('/openai/requests');
    assert.equal(reqs.length, 1);
    assert.equal(header(reqs[0], 'authorization'), `Bearer ${env('E2E_OPENAI_KEY')}`);
    assert.equal(reqs[0].body.session.model, 'gpt-realtime');
  });

  // Each refusal: the SDK error class, the middleware's status and code,
  // and nothing sent to xAI.
  const refusals = [
    {
      name: "403 PermissionDeniedError for a model outside the key's models",
      model: 'grok-3-voice',
      cls: OpenAI.PermissionDeniedError,
      want: { status: 403, code: 'model_not_allowed' },
    },
    {
      name: "403 PermissionDeniedError for xai/<model> outside the key's models on /v1",
      path: '/v1',
      model: 'xai/grok-3-voice',
      cls: OpenAI.PermissionDeniedError,
      want: { status: 403, code: 'model_not_allowed' },
    },
    {
      name: '400 BadRequestError unsupported_session_setting for session settings xAI does not take',
      model: GROK,
      session: { instructions: 'You are a friendly assistant.', audio: { output: { voice: 'eve' } } },
      cls: OpenAI.BadRequestError,
      want: { status: 400, code: 'unsupported_session_setting', type: 'invalid_request_error' },
      message: [/session\.instructions/, /session\.audio/],
    },
    {
      name: "400 BadRequestError missing_model for no model when the key lists models",
      model: undefined,
      cls: OpenAI.BadRequestError,
      want: { status: 400, code: 'missing_model' },
    },
    {
      name: '401 AuthenticationError for an unknown virtual key',
      apiKey: () => env('E2E_VK_VOICE_ABSENT'),
      model: GROK,
      cls: OpenAI.AuthenticationError,
      want: { status: 401, code: 'invalid_api_key' },
    },
  ];
  for (const c of refusals) {
    test(c.name, async () => {
      const before = (await fakes('/xai/requests')).length;
      const apiKey = c.apiKey ? c.apiKey() : env('E2E_VK_VOICE');
      await assert.rejects(
        xai(c.path, apiKey).realtime.clientSecrets.create({
          expires_after: { anchor: 'created_at', seconds: 60 },
          session: { type: 'realtime', model: c.model, ...c.session },
        }),
        (err) => {
          assert.ok(err instanceof c.cls, `${err.constructor.name}: ${err.message}`);
          for (const [k, v] of Object.entries(c.want)) assert.equal(err[k], v, `${k}: ${err.message}`);
          for (const re of c.message ?? []) assert.match(err.message, re);
          return true;
        },
      );
      assert.equal((await fakes('/xai/requests')).length, before, 'nothing reached xAI');
    });
  }

  test('429 RateLimitError once the key has used its rate', async () => {
    const client = xai('/xai/v1', env('E2E_VK_VOICE_XAI_1'));
    const create = () =>
      client.realtime.clientSecrets.create({
        expires_after: { anchor: 'created_at', seconds: 60 },
        session: { type: 'realtime', model: GROK },
      });
    const from = nowSeconds();
    await assertXAISecret(await create(), from, 60);
    const { count } = await lastXAI();
    await assert.rejects(create(), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, 429);
      assert.ok(err.headers.get('retry-after'), 'Retry-After is set');
      return true;
    });
    assert.equal((await fakes('/xai/requests')).length, count, 'the refused mint did not reach xAI');
  });
});

describe('@google/genai: Gemini Live auth tokens through the sidecar', () => {
  const genai = (apiKey = env('E2E_VK_VOICE')) =>
    new GoogleGenAI({ apiKey, httpOptions: { apiVersion: 'v1alpha', baseUrl: sidecar + '/gemini', timeout: 10_000 } });

  async function lastGemini() {
    const reqs = await fakes('/gemini/requests');
    assert.ok(reqs.length > 0, 'Gemini received nothing');
    const last = reqs.at(-1);
    assert.equal(last.method, 'POST');
    assert.equal(last.path, '/v1alpha/auth_tokens');
    assert.equal(header(last, 'x-goog-api-key'), env('E2E_GEMINI_KEY'), 'the provider key, not the virtual key');
    assert.equal(header(last, 'authorization'), undefined);
    assert.ok(!last.query.includes('key='), `no key in the query: ${last.query}`);
    assertNoVirtualKey(last);
    const tokens = await fakes('/gemini/tokens');
    return { last, count: reqs.length, token: tokens.at(-1) };
  }

  // googleError checks an ApiError in Google's shape: the status, and the
  // body {"error": {code, message, status, details: [ErrorInfo]}}.
  function googleError(status, googleStatus, reason) {
    return (err) => {
      assert.ok(err instanceof ApiError, `${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, status, err.message);
      const body = JSON.parse(err.message);
      assert.equal(body.error.code, status);
      assert.equal(body.error.status, googleStatus, err.message);
      assert.equal(typeof body.error.message, 'string');
      if (reason) {
        const info = body.error.details?.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
        assert.ok(info, `an ErrorInfo detail: ${err.message}`);
        assert.equal(info.reason, reason, err.message);
      }
      return true;
    };
  }

  test('a token locked to the model, Google-shaped upstream with the real key', async () => {
    const expireTime = inSeconds(120);
    const newSessionExpireTime = inSeconds(50);
    const token = await genai().authTokens.create({
      config: {
        uses: 1,
        expireTime,
        newSessionExpireTime,
        liveConnectConstraints: {
          model: GEMINI,
          config: { responseModalities: ['AUDIO'], systemInstruction: 'Always answer in English.', temperature: 0.5 },
        },
      },
    });
    assert.match(token.name, /^auth_tokens\/[0-9a-f]+$/);

    const { last, token: minted } = await lastGemini();
    assert.equal(minted.name, token.name, 'the token Gemini minted, handed back as it is');
    assert.deepEqual(last.body, {
      uses: 1,
      expireTime,
      newSessionExpireTime,
      bidiGenerateContentSetup: {
        model: `models/${GEMINI}`,
        generationConfig: { responseModalities: ['AUDIO'], temperature: 0.5 },
        systemInstruction: { parts: [{ text: 'Always answer in English.' }], role: 'user' },
      },
    }, 'what the SDK sent, in Google\'s shape');
    assert.equal(minted.model, GEMINI);
    assert.equal(minted.uses, 1);
    assert.equal(Date.parse(minted.expire), Date.parse(expireTime));
    assert.equal(Date.parse(minted.new_session), Date.parse(newSessionExpireTime));
  });

  test("lockAdditionalFields: [] sends a field mask naming the model; uses up to the key's max_uses", async () => {
    const token = await genai().authTokens.create({
      config: {
        uses: maxUses,
        expireTime: inSeconds(60),
        lockAdditionalFields: [],
        liveConnectConstraints: { model: GEMINI, config: { responseModalities: ['AUDIO'] } },
      },
    });
    assert.match(token.name, /^auth_tokens\//);
    const { last, token: minted } = await lastGemini();
    assert.equal(last.body.fieldMask, 'model,generationConfig.responseModalities');
    assert.equal(minted.field_mask, 'model,generationConfig.responseModalities');
    assert.equal(minted.uses, maxUses);
  });

  test('lockAdditionalFields names more fields: the mask names the model and them', async () => {
    const token = await genai().authTokens.create({
      config: {
        uses: 1,
        lockAdditionalFields: ['temperature'],
        liveConnectConstraints: { model: `models/${GEMINI}`, config: { responseModalities: ['AUDIO'] } },
      },
    });
    assert.match(token.name, /^auth_tokens\//);
    const { last, token: minted } = await lastGemini();
    assert.equal(last.body.bidiGenerateContentSetup.model, `models/${GEMINI}`);
    assert.equal(last.body.fieldMask, 'model,generationConfig.responseModalities,generationConfig.temperature');
    assert.equal(minted.model, GEMINI);
  });

  test("no expireTime: the key's max_ttl is injected", async () => {
    const from = Date.now();
    const token = await genai().authTokens.create({ config: { uses: 1, liveConnectConstraints: { model: GEMINI } } });
    assert.match(token.name, /^auth_tokens\//);
    const { last, token: minted } = await lastGemini();
    const injected = Date.parse(last.body.expireTime);
    assert.ok(injected >= from + (maxTTL - 2) * 1000, `expireTime ${last.body.expireTime} is max_ttl ahead`);
    assert.ok(injected <= Date.now() + maxTTL * 1000, `expireTime ${last.body.expireTime} is at most max_ttl ahead`);
    assert.equal(Date.parse(minted.expire), injected);
  });

  test("the token opens a Live session with the SDK's live.connect through the sidecar, attributed", async () => {
    const token = await genai().authTokens.create({
      config: { uses: 1, liveConnectConstraints: { model: GEMINI, config: { responseModalities: [Modality.AUDIO] } } },
    });
    // The browser's side: the token is the API key; the SDK then opens
    // BidiGenerateContentConstrained with ?access_token=.
    const live = new GoogleGenAI({ apiKey: token.name, httpOptions: { apiVersion: 'v1alpha', baseUrl: sidecar + '/gemini' } });
    const messages = [];
    const session = await live.live.connect({
      model: GEMINI,
      config: { responseModalities: [Modality.AUDIO] },
      callbacks: { onmessage: (m) => messages.push(m) },
    });
    session.close();

    const last = (await fakes('/proxy/requests')).at(-1);
    assert.equal(last.path, '/gemini/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained');
    assert.equal(new URLSearchParams(last.query).get('access_token'), token.name, 'the token reached the provider end');
    assert.equal(header(last, 'x-realtime-provider'), 'gemini');
    assert.equal(header(last, 'x-realtime-virtual-key-id'), 'voice');
    assert.equal(header(last, 'x-realtime-key-id'), 'g1');
    assert.equal(header(last, 'x-realtime-model'), GEMINI);
    assert.equal(last.first_message.setup.model, `models/${GEMINI}`, "the SDK's setup message passed through");
    for (const [name, values] of Object.entries(last.headers)) {
      for (const v of values) assert.ok(!v.includes(env('E2E_GEMINI_KEY')), `header ${name} carries the provider key`);
    }
  });

  test('max_sessions: 1 holds across live.connect redemptions through the sidecar', async () => {
    const ai = genai(env('E2E_VK_VOICE_ONE'));
    const mint = () => ai.authTokens.create({ config: { uses: 1, liveConnectConstraints: { model: GEMINI } } });
    const [a, b] = [await mint(), await mint()];
    const connect = (token) =>
      new GoogleGenAI({ apiKey: token.name, httpOptions: { apiVersion: 'v1alpha', baseUrl: sidecar + '/gemini' } })
        .live.connect({ model: GEMINI, callbacks: { onmessage: () => {}, onerror: () => {}, onclose: () => {} } });
    const first = await connect(a);
    const before = (await fakes('/proxy/requests')).length;
    await assert.rejects(connect(b), /429/, 'a second session of the key is refused: 429');
    assert.equal((await fakes('/proxy/requests')).length, before, 'the second session did not reach the provider end');
    first.close();
    const second = await eventually(() => connect(b));
    second.close();
    const last = (await fakes('/proxy/requests')).at(-1);
    assert.equal(new URLSearchParams(last.query).get('access_token'), b.name);
    assert.equal(header(last, 'x-realtime-virtual-key-id'), 'voice-one');
  });

  // Each refusal: ApiError with Google's status and error shape, and
  // nothing sent to Gemini.
  const refusals = [
    {
      name: "403 PERMISSION_DENIED for a model outside the key's models",
      config: { uses: 1, liveConnectConstraints: { model: 'gemini-2.0-flash-live-001' } },
      want: [403, 'PERMISSION_DENIED', 'MODEL_NOT_ALLOWED'],
    },
    {
      name: '400 INVALID_ARGUMENT for a token not locked to a model when the key lists models',
      config: { uses: 1, expireTime: inSeconds(60) },
      want: [400, 'INVALID_ARGUMENT', 'MISSING_MODEL'],
    },
    {
      name: "400 INVALID_ARGUMENT for an expireTime beyond the key's max_ttl",
      config: () => ({ uses: 1, expireTime: inSeconds(maxTTL + 60), liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'EXPIRE_TIME_NOT_ALLOWED'],
    },
    {
      name: '400 INVALID_ARGUMENT for an expireTime in the past',
      config: () => ({ uses: 1, expireTime: inSeconds(-60), liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'INVALID_VALUE'],
    },
    {
      name: '400 INVALID_ARGUMENT for a newSessionExpireTime beyond a minute',
      config: () => ({ uses: 1, newSessionExpireTime: inSeconds(180), liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'NEW_SESSION_EXPIRE_TIME_NOT_ALLOWED'],
    },
    {
      name: '400 INVALID_ARGUMENT for uses 0 (unlimited)',
      config: { uses: 0, liveConnectConstraints: { model: GEMINI } },
      want: [400, 'INVALID_ARGUMENT', 'INVALID_VALUE'],
    },
    {
      name: "400 INVALID_ARGUMENT for uses above the key's max_uses",
      config: () => ({ uses: maxUses + 1, liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'USES_NOT_ALLOWED'],
    },
    {
      name: '400 INVALID_ARGUMENT for uses out of range',
      config: { uses: 2 ** 40, liveConnectConstraints: { model: GEMINI } },
      want: [400, 'INVALID_ARGUMENT', 'INVALID_VALUE'],
    },
    {
      name: '400 INVALID_ARGUMENT for an expireTime in another format than RFC 3339',
      config: () => ({ uses: 1, expireTime: new Date(Date.now() + 60_000).toUTCString(), liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'INVALID_VALUE'],
    },
    {
      name: '400 INVALID_ARGUMENT for a newSessionExpireTime after the expireTime',
      config: () => ({ uses: 1, expireTime: inSeconds(20), newSessionExpireTime: inSeconds(40), liveConnectConstraints: { model: GEMINI } }),
      want: [400, 'INVALID_ARGUMENT', 'INVALID_VALUE'],
    },
    {
      name: "403 PERMISSION_DENIED for models/<model> outside the key's models",
      config: { uses: 1, liveConnectConstraints: { model: 'models/gemini-2.0-flash-live-001' } },
      want: [403, 'PERMISSION_DENIED', 'MODEL_NOT_ALLOWED'],
    },
    {
      name: '401 UNAUTHENTICATED for an unknown virtual key',
      apiKey: () => env('E2E_VK_VOICE_ABSENT'),
      config: { uses: 1, liveConnectConstraints: { model: GEMINI } },
      want: [401, 'UNAUTHENTICATED', 'INVALID_API_KEY'],
    },
  ];
  for (const c of refusals) {
    test(c.name, async () => {
      const before = (await fakes('/gemini/requests')).length;
      const config = typeof c.config === 'function' ? c.config() : c.config;
      await assert.rejects(genai(c.apiKey?.()).authTokens.create({ config }), googleError(...c.want));
      assert.equal((await fakes('/gemini/requests')).length, before, 'nothing reached Gemini');
    });
  }

  test('429 RESOURCE_EXHAUSTED once the key has used its rate', async () => {
    const ai = genai(env('E2E_VK_VOICE_GEM_1'));
    const create = () => ai.authTokens.create({ config: { uses: 1, liveConnectConstraints: { model: GEMINI } } });
    const token = await create();
    assert.match(token.name, /^auth_tokens\//);
    const { count, token: minted } = await lastGemini();
    assert.equal(minted.name, token.name);
    await assert.rejects(create(), googleError(429, 'RESOURCE_EXHAUSTED', 'RATE_LIMIT_EXCEEDED'));
    assert.equal((await fakes('/gemini/requests')).length, count, 'the refused mint did not reach Gemini');
  });
});
