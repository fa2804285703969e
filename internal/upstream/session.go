package upstream

import (
	"errors"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// CheckSession returns the error, its text starting with name, of a
// SessionBroker.Session request that cannot be sent: none, without a key,
// or a hang-up without a session id, which would post to the collection
// and create a session instead. Whether the endpoint is a session endpoint
// at all the adapter answers, with its own unsupported-endpoint error.
func CheckSession(name string, req *contract.SessionRequest) error {
	switch {
	case req == nil || req.Key == nil:
		return errors.New(name + ": session request without a key")
	case req.Endpoint.IsHangup() && req.SessionID == "":
		return errors.New(name + ": hang-up without a session id")
	}
	return nil
}

// SidebandPath returns the path, below the adapter's root, of the sideband
// of a SessionWatcher.Watch request, or the error, its text starting with
// name, of a request that has no key, no session id or an endpoint without
// a sideband.
func SidebandPath(name string, req *contract.SessionRequest) (string, error) {
	if req == nil || req.Key == nil {
		return "", errors.New(name + ": sideband request without a key")
	}
	path := req.Endpoint.SidebandPath(req.SessionID)
	if path == "" || req.SessionID == "" {
		return "", errors.New(name + ": sideband request without a call or Live session id")
	}
	return path, nil
}
