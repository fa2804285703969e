package fakeupstream

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// SessionKind is the kind of a brokered session.
type SessionKind uint8

const (
	// SessionCall is a Realtime WebRTC call (POST /v1/realtime/calls).
	SessionCall SessionKind = iota + 1
	// SessionLive is a GPT-Live session (POST /v1/live/sessions).
	SessionLive
)

// String returns "call" or "live".
func (k SessionKind) String() string {
	switch k {
	case SessionCall:
		return "call"
	case SessionLive:
		return "live"
	}
	return "unknown"
}

// Session is a session the server created.
type Session struct {
	// ID is the call id ("rtc_" + 24 hex, the last segment of the
	// Location answered) or the Live session id ("sess_" + 24 hex).
	ID   string
	Kind SessionKind
	// Model is the model asked for; for a call without a session part,
	// OpenAI's default, "gpt-realtime".
	Model string
	// Ephemeral reports a call created with a minted "ek_" key.
	Ephemeral bool
	// SIP reports a GPT-Live session a SIP call started (AddSIPSession):
	// its hang-up ends it. A WebRTC one is ended with session.close.
	SIP bool
	// Created is from Options.Now; Ended is set by its hang-up (zero while
	// the session is active).
	Created time.Time
	Ended   time.Time
}

// Active reports whether the session has not been hung up.
func (s Session) Active() bool { return s.Ended.IsZero() }

// SessionStats counts the brokered session traffic since New or Reset.
type SessionStats struct {
	// Calls and Live count the sessions created, answered or not (see
	// Options.CreateDelay).
	Calls int
	Live  int
	// Hangups counts every request to a hang-up route, refused ones
	// included; Ended counts those that ended a session.
	Hangups int
	Ended   int
	// Active is the number of sessions created and not ended, ever: Reset
	// does not forget sessions, so that they can still be hung up.
	Active int
}

// Created returns Calls + Live.
func (st SessionStats) Created() int { return st.Calls + st.Live }

// sessionTable holds every session the server created, and the counters.
type sessionTable struct {
	mu    sync.Mutex
	byID  map[string]*sessionEntry
	stats SessionStats // Active is kept up to date too

	sb       SidebandStats
	closed   bool           // Close was called: no sideband is accepted
	sbWG     sync.WaitGroup // the sidebands' goroutines
	shutdown chan struct{}  // closed by Close
}

// sessionEntry is a session and the key that created it (hashed: the
// table need not hold secrets to compare them).
type sessionEntry struct {
	Session
	owner [32]byte
	// sidebands are the session's open sidebands; attaches counts every
	// one it had; ticks numbers the periodic response.done events.
	sidebands map[*sidebandConn]struct{}
	attaches  int
	ticks     int
}

func ownerOf(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// ownedBy reports whether key may govern the session (hang it up, attach
// its sideband): the key that created it, or, for a call created with a
// minted secret, any API key. OpenAI lets the project whose key minted the
// secret do so; this server verifies secrets without remembering who
// minted them, so it cannot tell that project's key from another's.
func (e *sessionEntry) ownedBy(key string) bool {
	return e.owner == ownerOf(key) || e.Ephemeral && !strings.HasPrefix(key, SecretPrefix)
}

// AddSIPSession records an active GPT-Live session of key as a SIP call
// would start one (OpenAI creates those from an incoming call, not
// through the API), so that tests can hang one up.
func (s *Server) AddSIPSession(key string) Session {
	sess := Session{ID: string(appendRawID(make([]byte, 0, 32), liveIDPrefix)), Kind: SessionLive,
		Model: "gpt-live-1", SIP: true, Created: s.now()}
	s.sessions.create(sess, key)
	return sess
}

// EndSession ends the active session id as the provider does on its own
// (the browser left, a timeout): its sidebands see the end, with reason
// for a Live session's session.closed. It reports whether id was active.
func (s *Server) EndSession(id, reason string) bool {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[id]
	if e == nil || !e.Active() {
		return false
	}
	t.endLocked(e, s.now(), reason)
	return true
}

// create records a new session and counts it.
func (t *sessionTable) create(sess Session, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = make(map[string]*sessionEntry)
	}
	t.byID[sess.ID] = &sessionEntry{Session: sess, owner: ownerOf(key)}
	if sess.Kind == SessionCall {
		t.stats.Calls++
	} else {
		t.stats.Live++
	}
	t.stats.Active++
}

// The outcomes of a hang-up request.
const (
	hungUp        = iota
	hangupUnknown // an unknown id, another kind's, another key's, or one ended: OpenAI answers alike, 404
	hangupWebRTC  // a WebRTC GPT-Live session: ended with session.close on its attach, not hung up
)

// hangup counts a hang-up request and, when id is an active session of
// kind created with key that a hang-up ends (a call, or a SIP GPT-Live
// session), ends it at now.
func (t *sessionTable) hangup(kind SessionKind, id, key string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.Hangups++
	e := t.byID[id]
	switch {
	case e == nil || e.Kind != kind || !e.ownedBy(key) || !e.Active():
		return hangupUnknown
	case kind == SessionLive && !e.SIP:
		return hangupWebRTC
	}
	t.endLocked(e, now, "close_requested")
	return hungUp
}

// endLocked ends the active session e at now and tells its sidebands, which
// then close normally (a Live one after session.closed with reason).
func (t *sessionTable) endLocked(e *sessionEntry, now time.Time, reason string) {
	e.Ended = now
	t.stats.Ended++
	t.stats.Active--
	for sb := range e.sidebands {
		select {
		case sb.end <- reason:
		default:
		}
	}
}

// countHangup counts a hang-up request refused before it named a session.
func (t *sessionTable) countHangup() {
	t.mu.Lock()
	t.stats.Hangups++
	t.mu.Unlock()
}

// SessionStats returns the session counters.
func (s *Server) SessionStats() SessionStats {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// SessionsCreated returns how many calls and Live sessions were created
// since New or Reset: SessionStats().Created().
func (s *Server) SessionsCreated() int { return s.SessionStats().Created() }

// ActiveSessions returns how many sessions were created and not hung up.
func (s *Server) ActiveSessions() int { return s.SessionStats().Active }

// Session returns the session with id (a call id or a Live session id);
// ok is false for an id the server never created.
func (s *Server) Session(id string) (sess Session, ok bool) {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byID[id]; e != nil {
		return e.Session, true
	}
	return Session{}, false
}

// Sessions returns every session the server created, in no order.
func (s *Server) Sessions() []Session {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Session, 0, len(t.byID))
	for _, e := range t.byID {
		out = append(out, e.Session)
	}
	return out
}

// resetStats zeroes the counters but Active and Open, for Reset.
func (t *sessionTable) resetStats() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats = SessionStats{Active: t.stats.Active}
	t.sb = SidebandStats{Open: t.sb.Open}
}
