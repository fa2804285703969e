// Package sidecar is realtimesecretd: the realtimesecret middleware run
// from one YAML file in front of an existing LLM proxy. It loads and
// validates the config (Load), turns it into the core's Config and the
// adapters, and serves mints, the reverse proxy with attribution headers,
// and the admin endpoints, with a graceful drain on shutdown (Server).
//
// The package is internal: the command is the product, not this API.
package sidecar
