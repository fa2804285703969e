// The page's entry for TestBrowserEKAgentsSDK (internal/e2e/browserek_test.go):
// the OpenAI Agents SDK's own WebRTC transport, as an app's page uses it,
// with the calls URL set to the sidecar. The Go test bundles it with
// esbuild (node_modules/.bin/esbuild, offline) for the browser.
//
// Not a node --test file: its name matches none of node's test patterns.
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';

const sessions = [];

// agentConnect connects a RealtimeSession over WebRTC with the client
// secret apiKey, posting its offer to url, and resolves with what the
// session reports; it never rejects.
window.agentConnect = async (url, apiKey) => {
  const agent = new RealtimeAgent({ name: 'e2e', instructions: 'Answer in one word.' });
  const session = new RealtimeSession(agent, { transport: 'webrtc', model: 'gpt-realtime' });
  const rec = { session, changes: [], closedAt: 0, events: [] };
  sessions.push(rec);
  session.transport.on('connection_change', (status) => rec.changes.push(status));
  session.on('transport_event', (ev) => { if (ev && ev.type) rec.events.push(ev.type); });
  try {
    await session.connect({ apiKey, url });
  } catch (e) {
    return { index: sessions.length - 1, ok: false, error: String((e && e.message) || e), changes: rec.changes };
  }
  const dc = session.transport.connectionState.dataChannel;
  if (dc) dc.addEventListener('close', () => { rec.closedAt = Date.now(); });
  return {
    index: sessions.length - 1,
    ok: true,
    callId: session.transport.callId || '',
    status: session.transport.status,
    channelState: dc ? dc.readyState : '',
    changes: rec.changes,
    connectedAt: Date.now(),
  };
};

// agentState reports on the session agentConnect made as index.
window.agentState = (index) => {
  const rec = sessions[index];
  return { status: rec.session.transport.status, changes: rec.changes, closedAt: rec.closedAt, events: rec.events };
};

window.agentsReady = true;
