package badrequests

import (
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

// Request is a case resolved against the corpus defaults: what to send.
// How to send it (chunked, a declared Content-Length, whether a body-less
// GET carries a length) is the transport's part and stays in each test.
type Request struct {
	Method string
	// Target is the request target as written on the wire (raw: %2F stays
	// encoded).
	Target string
	Header http.Header
	// Body is nil when the case has none.
	Body []byte
}

// Resolve applies tc to the defaults: its method and path when set; the
// default headers, then the case's headers (a JSON null deletes one), then
// header_gen; and the body from body_file (relative to the corpus
// directory), body_gen or body, in that order of precedence.
//
// A case with session_by needs the id of the session created for it:
// resolve it with ResolveSession.
func (c *Corpus) Resolve(tc *Case) (*Request, error) {
	return c.ResolveSession(tc, "")
}

// ResolveSession is Resolve for a case with session_by: sessionID, the id
// of the session SessionSetup created, replaces {session_id} in the path.
func (c *Corpus) ResolveSession(tc *Case, sessionID string) (*Request, error) {
	target := or(tc.Path, c.Defaults.Path)
	if strings.Contains(target, SessionIDPlaceholder) {
		if sessionID == "" {
			return nil, fmt.Errorf("case %q: the path names %s: create the session first (SessionSetup, ResolveSession)", tc.Name, SessionIDPlaceholder)
		}
		target = strings.ReplaceAll(target, SessionIDPlaceholder, sessionID)
	}
	r := &Request{Method: or(tc.Method, c.Defaults.Method), Target: target, Header: http.Header{}}
	for k, v := range c.Defaults.Headers {
		r.Header.Set(k, v)
	}
	for k, v := range tc.Headers {
		if v == nil {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, *v)
		}
	}
	for k, spec := range tc.HeaderGen {
		v, err := Generate(spec)
		if err != nil {
			return nil, fmt.Errorf("case %q: header %s: %w", tc.Name, k, err)
		}
		r.Header.Set(k, string(v))
	}
	var err error
	switch {
	case tc.BodyFile != "":
		if c.files == nil {
			return nil, fmt.Errorf("case %q: body_file needs a corpus from Load", tc.Name)
		}
		r.Body, err = fs.ReadFile(c.files, tc.BodyFile)
	case tc.BodyGen != "":
		r.Body, err = Generate(tc.BodyGen)
	case tc.Body != nil:
		r.Body = []byte(*tc.Body)
	}
	if err != nil {
		return nil, fmt.Errorf("case %q: body: %w", tc.Name, err)
	}
	return r, nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
