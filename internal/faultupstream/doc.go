// Package faultupstream starts upstreams that fail on purpose, for tests of
// code that mints through internal/upstream: one that never answers, one
// that stops mid-body, one that closes or resets the connection, one with a
// certificate the client does not trust, an address nothing listens on, one
// that quotes the credential back where the transport copies it into an
// error, and one that redirects; and Answer, an upstream that sends a
// given reply (too large, chunked, in a corrupt or unknown encoding).
//
// Every upstream listens on loopback only and is shut down by the test's
// cleanup. Faults lists them with the sentinel each must map to, so that an
// adapter proves its wiring to every failure mode with one loop, while
// internal/upstream tests the modes in depth.
//
// The package is internal and used only by tests: it is test tooling, not
// API.
package faultupstream
