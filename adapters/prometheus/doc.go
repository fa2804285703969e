// Package prometheus exports the realtimesecret middleware's Prometheus
// metrics, the same ones realtimesecretd serves on /metrics, for apps that
// use the middleware as a library.
//
// A *Collector is a prometheus.Collector fed by the middleware's hooks:
//
//	metrics := prometheus.New()
//	registry.MustRegister(metrics) // client_golang's *prometheus.Registry
//	cfg.OnMint = metrics.OnMint
//	cfg.OnSession = metrics.OnSession
//	cfg.OnRedeem = metrics.OnRedeem
//	cfg.Store = metrics.Store(memory.NewStore()) // optional: store errors, stored records
//
// It exports:
//
//	realtimesecret_mints_total{provider,endpoint,status}                  counter, from OnMint: the mint routes
//	realtimesecret_mint_errors_total{endpoint,code}                       counter, from OnMint: the code of an error the middleware answered
//	realtimesecret_session_requests_total{provider,endpoint,status}       counter, from OnSession: calls, live_sessions and their hang-ups
//	realtimesecret_session_request_errors_total{endpoint,code}            counter, from OnSession: the code of an error the middleware answered
//	realtimesecret_upstream_duration_seconds{provider,endpoint}           histogram: a mint's or a session request's provider call
//	realtimesecret_redemptions_total{result}                              counter: found, not_found, store_error, rejected
//	realtimesecret_store_errors_total{op}                                 counter: put, get, rate_limit
//	realtimesecret_stored_records                                         gauge, when the store has a Len() int method
//
// and, for session governance (usage metering, caps, limits):
//
//	realtimesecret_usage_tokens_total{provider,endpoint,virtual_key,direction,kind}  counter, from OnUsage
//	realtimesecret_session_seconds_total{provider,endpoint,virtual_key}              counter, from OnUsage
//	realtimesecret_sessions_ended_total{provider,endpoint,reason}                    counter, from OnUsage
//	realtimesecret_spend_usd_total{provider,model}                                   counter, from OnUsage (UsageEvent.CostUSD)
//	realtimesecret_sessions_in_flight{virtual_key}                                   gauge, after SessionsInFlight
//
// wired as:
//
//	cfg.OnUsage = metrics.OnUsage
//	metrics.LabelVirtualKeys("web", "mobile")               // the ids of cfg.VirtualKeys
//	metrics.SessionsInFlight(registry, "web", "mobile")     // registry is cfg.SessionRegistry
//
// Labels hold provider names, endpoint kinds, statuses and results, never a
// key or a token; virtual_key holds only the ids given to LabelVirtualKeys
// (an Authorizer's principal ids, which may be anything, are left out).
// Every redemption result and store operation is exported from the start
// at 0, so rates and alerts work from the first scrape.
//
// The package is named after what it adapts to; import it under another
// name next to client_golang's:
//
//	import (
//		"github.com/prometheus/client_golang/prometheus"
//		rsprom "github.com/realtimesecret/realtimesecret/adapters/prometheus"
//	)
package prometheus
