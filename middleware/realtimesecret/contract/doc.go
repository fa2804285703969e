// Package contract is what adapter and store authors implement for
// github.com/realtimesecret/realtimesecret/middleware/realtimesecret, and
// nothing else: the interfaces the middleware calls (Provider, with the
// optional SessionBroker and SessionWatcher; Store, SessionRegistry,
// RateLimiter, Pinger), the values that cross them (MintRequest,
// SessionRequest, Reply, Record, TrackedSession, Key), and the errors the
// middleware matches with errors.Is.
//
// It imports nothing of the middleware, so an adapter depends on these few
// types only; the middleware finds optional capabilities by type assertion,
// as net/http finds http.Flusher. Apps configure the middleware with the
// realtimesecret package, which re-exports the few of these types an app
// names (Key, Secret, Rate, Record, Endpoint, Error); the in-process
// implementations are in package memory.
package contract
