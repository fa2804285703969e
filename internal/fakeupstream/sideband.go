package fakeupstream

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Sideband paths. PathRealtime with ?call_id= attaches to a call;
// PathLiveAttach names the Live attach route in LastRequest (its id's place
// marked), as PathCallHangup does.
const (
	PathRealtime   = "/v1/realtime"
	PathLiveAttach = "/v1/live/sessions/{session_id}/attach"
)

// DefaultEvery is SidebandScript.Every of the default script: the demo's
// sidebands report usage every second.
const DefaultEvery = time.Second

// sidebandWriteTimeout bounds one event written to a sideband.
const sidebandWriteTimeout = 5 * time.Second

// SidebandScript is what the server's sidebands emit. The zero value is
// the demo's: every second, a call's sideband gets a response.done with
// DemoUsage and a Live one a session.usage.updated with the seconds the
// session has lived.
type SidebandScript struct {
	// Responses are the response.done events a call's sideband emits as
	// soon as it is attached, in order, with ids "resp_1", "resp_2", ...
	// Every attach emits all of them again, as a replay after a reconnect
	// would: a client must count each response id once.
	Responses []ResponseUsage
	// LiveSeconds are the running totals a Live sideband emits as
	// session.usage.updated as soon as it is attached, in order; every
	// attach emits them again.
	LiveSeconds []float64
	// FinalSeconds is usage.seconds of session.closed. Zero means the last
	// of LiveSeconds or, without any, the seconds the session lived.
	FinalSeconds float64
	// Every, if positive, makes each sideband emit, every Every while the
	// session lives, a response.done with DemoUsage and a fresh id (a
	// call) or a session.usage.updated with the seconds the session has
	// lived (Live). Zero means DefaultEvery when Responses and LiveSeconds
	// are both empty, and never otherwise; negative means never.
	Every time.Duration
	// DropAfter, if positive, drops the first sideband of every session,
	// closing its connection without a close frame, once it has emitted
	// DropAfter events: a dropped sideband for reconnection tests.
	DropAfter int
}

// ResponseUsage is the usage of one response.done (Realtime's
// response.usage).
type ResponseUsage struct {
	InputTokens, InputAudioTokens, InputTextTokens, InputCachedTokens int64
	OutputTokens, OutputAudioTokens, OutputTextTokens                 int64
}

// DemoUsage is the usage of the periodic response.done events.
var DemoUsage = ResponseUsage{
	InputTokens: 120, InputAudioTokens: 100, InputTextTokens: 20, InputCachedTokens: 64,
	OutputTokens: 60, OutputAudioTokens: 50, OutputTextTokens: 10,
}

// SidebandStats counts the sideband traffic since New or Reset.
type SidebandStats struct {
	// Attached counts the sidebands opened; Refused the attach requests
	// answered with an error (an unknown or ended session, a wrong key).
	Attached int
	Refused  int
	// Open is how many are open now (not reset by Reset).
	Open int
	// Dropped counts the sidebands dropped without a close frame
	// (SidebandScript.DropAfter, DropSidebands).
	Dropped int
	// Events counts the events written to sidebands.
	Events int
	// SessionCloses counts the session.close commands received.
	SessionCloses int
}

// sidebandKindRoute is a sideband route.
type sidebandKindRoute uint8

const (
	notSideband sidebandKindRoute = iota
	routeCallSideband
	routeLiveAttach
)

// sidebandRoute returns the sideband route of path and query, with the
// session id: GET /v1/realtime?call_id={id} or
// /v1/live/sessions/{id}/attach.
func sidebandRoute(path, rawQuery string) (sidebandKindRoute, string) {
	if path == PathRealtime {
		if !strings.Contains(rawQuery, "call_id=") {
			return notSideband, ""
		}
		q, _ := url.ParseQuery(rawQuery)
		return routeCallSideband, q.Get("call_id")
	}
	if id, ok := attachID(path); ok {
		return routeLiveAttach, id
	}
	return notSideband, ""
}

// attachID returns the id of /v1/live/sessions/{id}/attach.
func attachID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, livePrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/attach")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// sidebandConn is one open sideband.
type sidebandConn struct {
	c    *websocket.Conn
	kind SessionKind
	id   string
	// end receives the reason the session ended; drop asks for a drop.
	end  chan string
	drop chan struct{}
}

// serveSideband answers a sideband attach: 404 for an unknown or ended
// session, another kind's or another key's, 401 without a valid key;
// otherwise the WebSocket, which emits the script, honours session.close
// (Live) and closes normally when the session ends.
func (s *Server) serveSideband(w http.ResponseWriter, r *http.Request, rt sidebandKindRoute, id string, azure bool) {
	t := &s.sessions
	if r.Method != http.MethodGet {
		t.countRefused()
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, errMethod)
		return
	}
	key := s.credential(r.Header, azure)
	if e := s.authorizeKey(key); e != nil {
		t.countRefused()
		writeError(w, e)
		return
	}
	kind := SessionCall
	if rt == routeLiveAttach {
		kind = SessionLive
	}
	if !t.attachable(kind, id, key) {
		t.countRefused()
		writeError(w, notFound(kind, id))
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		t.countRefused()
		return // Accept answered
	}
	sb := &sidebandConn{c: c, kind: kind, id: id, end: make(chan string, 1), drop: make(chan struct{}, 1)}
	first, created, ok := t.attach(sb)
	if !ok { // ended meanwhile, or the server is closing
		_ = c.Close(websocket.StatusNormalClosure, "")
		return
	}
	defer t.detach(sb)
	s.runSideband(sb, first, created)
}

// attachable reports whether id is an active session of kind that key
// may govern.
func (t *sessionTable) attachable(kind SessionKind, id, key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[id]
	return e != nil && e.Kind == kind && e.ownedBy(key) && e.Active()
}

// attach registers sb with its session and reports whether it is the
// session's first sideband, and when the session was created; ok is false
// when the session has ended or the server is closing.
func (t *sessionTable) attach(sb *sidebandConn) (first bool, created time.Time, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[sb.id]
	if e == nil || !e.Active() || t.closed {
		return false, time.Time{}, false
	}
	if e.sidebands == nil {
		e.sidebands = make(map[*sidebandConn]struct{})
	}
	e.sidebands[sb] = struct{}{}
	e.attaches++
	t.sb.Attached++
	t.sb.Open++
	t.sbWG.Add(1)
	return e.attaches == 1, e.Created, true
}

func (t *sessionTable) detach(sb *sidebandConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byID[sb.id]; e != nil {
		delete(e.sidebands, sb)
	}
	t.sb.Open--
	t.sbWG.Done()
}

func (t *sessionTable) countRefused() {
	t.mu.Lock()
	t.sb.Refused++
	t.mu.Unlock()
}

func (t *sessionTable) countEvent() {
	t.mu.Lock()
	t.sb.Events++
	t.mu.Unlock()
}

func (t *sessionTable) countDrop() {
	t.mu.Lock()
	t.sb.Dropped++
	t.mu.Unlock()
}

// nextTick numbers a periodic response.done of session id.
func (t *sessionTable) nextTick(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byID[id]
	if e == nil {
		return 0
	}
	e.ticks++
	return e.ticks
}

// closeSession ends the Live session id on a session.close command.
func (t *sessionTable) closeSession(id string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sb.SessionCloses++
	if e := t.byID[id]; e != nil && e.Active() {
		t.endLocked(e, now, "close_requested")
	}
}

// runSideband emits the script to sb and serves it until the session ends,
// the client goes away, the sideband is dropped or the server closes.
func (s *Server) runSideband(sb *sidebandConn, first bool, created time.Time) {
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readSideband(sb)
	}()
	defer func() { <-readDone }()

	sc := &s.script
	emitted := 0
	dropAt := 0
	if first {
		dropAt = sc.DropAfter
	}
	// emit writes one event, and drops the sideband when it is the one
	// DropAfter names; false means the sideband is gone.
	emit := func(event []byte) bool {
		ctx, cancel := context.WithTimeout(context.Background(), sidebandWriteTimeout)
		err := sb.c.Write(ctx, websocket.MessageText, event)
		cancel()
		if err != nil {
			_ = sb.c.CloseNow()
			return false
		}
		s.sessions.countEvent()
		emitted++
		if emitted == dropAt {
			_ = sb.c.CloseNow()
			s.sessions.countDrop()
			return false
		}
		return true
	}
	if sb.kind == SessionCall {
		for i := range sc.Responses {
			if !emit(responseDone("resp_"+strconv.Itoa(i+1), &sc.Responses[i])) {
				return
			}
		}
	} else {
		for _, sec := range sc.LiveSeconds {
			if !emit(usageUpdated(sec)) {
				return
			}
		}
	}

	var tick <-chan time.Time
	if sc.Every > 0 {
		ticker := time.NewTicker(sc.Every)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case reason := <-sb.end:
			if sb.kind == SessionLive {
				_ = emit(sessionClosed(sb.id, reason, s.finalSeconds(created)))
			}
			_ = sb.c.Close(websocket.StatusNormalClosure, "")
			return
		case <-sb.drop:
			_ = sb.c.CloseNow()
			s.sessions.countDrop()
			return
		case <-readDone:
			_ = sb.c.CloseNow()
			return
		case <-s.sessions.shutdown:
			_ = sb.c.Close(websocket.StatusGoingAway, "")
			return
		case <-tick:
			var event []byte
			if sb.kind == SessionCall {
				event = responseDone("resp_tick_"+strconv.Itoa(s.sessions.nextTick(sb.id)), &DemoUsage)
			} else {
				event = usageUpdated(s.lived(created))
			}
			if !emit(event) {
				return
			}
		}
	}
}

// readSideband reads client commands until the connection closes: a Live
// session.close ends the session.
func (s *Server) readSideband(sb *sidebandConn) {
	for {
		_, msg, err := sb.c.Read(context.Background())
		if err != nil {
			return
		}
		var cmd struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(msg, &cmd) == nil && cmd.Type == "session.close" && sb.kind == SessionLive {
			s.sessions.closeSession(sb.id, s.now())
		}
	}
}

// finalSeconds is usage.seconds of a session.closed.
func (s *Server) finalSeconds(created time.Time) float64 {
	switch sc := &s.script; {
	case sc.FinalSeconds != 0:
		return sc.FinalSeconds
	case len(sc.LiveSeconds) > 0:
		return sc.LiveSeconds[len(sc.LiveSeconds)-1]
	}
	return s.lived(created)
}

// lived is how long a session created at created has lived, in seconds to
// the millisecond.
func (s *Server) lived(created time.Time) float64 {
	return math.Round(s.now().Sub(created).Seconds()*1000) / 1000
}

// DropSidebands drops every open sideband of session id, closing its
// connection without a close frame, and returns how many it dropped.
func (s *Server) DropSidebands(id string) int {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	if e := t.byID[id]; e != nil {
		for sb := range e.sidebands {
			select {
			case sb.drop <- struct{}{}:
				n++
			default:
			}
		}
	}
	return n
}

// SidebandStats returns the sideband counters.
func (s *Server) SidebandStats() SidebandStats {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sb
}

// Close closes every open sideband (status 1001, going away) and waits for
// their goroutines; later attaches are closed at once. An httptest.Server
// does not track hijacked connections, so a test that opened sidebands
// calls Close before the server's. Sessions and counters stay readable.
// Close is safe to call more than once.
func (s *Server) Close() {
	t := &s.sessions
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.shutdown)
	}
	t.mu.Unlock()
	t.sbWG.Wait()
}

func responseDone(id string, u *ResponseUsage) []byte {
	b := make([]byte, 0, 384)
	b = append(b, `{"type":"response.done","event_id":"event_`...)
	b = append(b, id...)
	b = append(b, `","response":{"object":"realtime.response","id":"`...)
	b = append(b, id...)
	b = append(b, `","status":"completed","output":[],"usage":{"total_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens+u.OutputTokens, 10)
	b = append(b, `,"input_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, `,"input_token_details":{"text_tokens":`...)
	b = strconv.AppendInt(b, u.InputTextTokens, 10)
	b = append(b, `,"audio_tokens":`...)
	b = strconv.AppendInt(b, u.InputAudioTokens, 10)
	b = append(b, `,"cached_tokens":`...)
	b = strconv.AppendInt(b, u.InputCachedTokens, 10)
	b = append(b, `},"output_token_details":{"text_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTextTokens, 10)
	b = append(b, `,"audio_tokens":`...)
	b = strconv.AppendInt(b, u.OutputAudioTokens, 10)
	return append(b, "}}}}"...)
}

func usageUpdated(seconds float64) []byte {
	b := append([]byte(nil), `{"type":"session.usage.updated","event_id":"event_usage","usage":{"seconds":`...)
	b = strconv.AppendFloat(b, seconds, 'f', -1, 64)
	return append(b, "}}"...)
}

func sessionClosed(id, reason string, seconds float64) []byte {
	b := append([]byte(nil), `{"type":"session.closed","event_id":"event_closed","reason":`...)
	b = appendString(b, reason)
	b = append(b, `,"session":{"object":"live.session","id":`...)
	b = appendString(b, id)
	b = append(b, `},"usage":{"seconds":`...)
	b = strconv.AppendFloat(b, seconds, 'f', -1, 64)
	return append(b, "}}"...)
}
