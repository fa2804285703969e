// Package badrequests loads the bad request corpus in testdata/badrequests:
// hostile or malformed requests to the mint routes, each with the answer it
// must get (cases.json, bodies/, and the README that documents the schema).
//
// It is used only by tests: the middleware's TestBadInput sends every case
// in process, the sidecar's TestBadInputThroughSidecar sends it over the
// wire. This package holds what both share — the schema, loading, resolving
// a case against the defaults, and the generators — so the two cannot drift;
// how a case is sent (an httptest request, or raw bytes on a socket) stays
// with each test.
//
// The package is internal: it is test tooling, not API.
package badrequests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Case is one request of cases.json; the README documents the fields.
type Case struct {
	Name          string             `json:"name"`
	Method        string             `json:"method"`
	Path          string             `json:"path"`
	Headers       map[string]*string `json:"headers"`
	HeaderGen     map[string]string  `json:"header_gen"`
	Body          *string            `json:"body"`
	BodyFile      string             `json:"body_file"`
	BodyGen       string             `json:"body_gen"`
	Chunked       bool               `json:"chunked"`
	ContentLength int64              `json:"content_length"`
	Seal          bool               `json:"seal"`
	Status        int                `json:"status"`
	Code          string             `json:"code"`
	Param         string             `json:"param"`
	Next          bool               `json:"next"`
	// SessionBy names a virtual key of Corpus.OtherVirtualKeys that creates
	// a brokered session before the case is sent (see SessionSetup); its id
	// replaces {session_id} in the path.
	SessionBy string `json:"session_by"`
}

// Defaults is what every case starts from before it overrides a part.
type Defaults struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
}

// Corpus is cases.json as loaded from one directory.
type Corpus struct {
	Comment    string `json:"comment"`
	VirtualKey string `json:"virtual_key"`
	// OtherVirtualKeys are more virtual keys, id to value, that runners
	// configure beside VirtualKey, with no restrictions: the owners of
	// the sessions that session_by creates.
	OtherVirtualKeys map[string]string `json:"other_virtual_keys"`
	Defaults         Defaults          `json:"defaults"`
	Cases            []Case            `json:"cases"`

	// files is the corpus directory, where body_file names are resolved.
	files fs.FS
}

// Load reads dir/cases.json. Unknown fields are an error: a typo in a field
// name must not silently drop a check.
func Load(dir string) (*Corpus, error) {
	files := os.DirFS(dir)
	raw, err := fs.ReadFile(files, "cases.json")
	if err != nil {
		return nil, fmt.Errorf("badrequests: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Corpus
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("badrequests: decode cases.json: %w", err)
	}
	if c.VirtualKey == "" {
		return nil, errors.New("badrequests: cases.json has no virtual_key")
	}
	c.files = files
	return &c, nil
}
