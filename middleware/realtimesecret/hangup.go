package realtimesecret

import (
	"errors"
	"net/http"
)

// hangup ends a brokered session upstream. The caller is authenticated as
// for a mint; the session must be known here (404, nothing sent upstream)
// and belong to the caller's principal (403); the hang-up is sent with the
// key that created the session. It is not rate limited: refusing it would
// keep a paid session running.
func (h *Handler) hangup(w http.ResponseWriter, r *http.Request, rt route, id string, m *mint) *Error {
	principal, e := h.authorize(r, Intent{Provider: m.ev.Provider, Endpoint: rt.endpoint})
	m.ev.VirtualKeyID = principal.ID // known on a 403 too, once the key was identified
	if e != nil {
		return e
	}
	rec, found, err := h.LookupSession(r.Context(), id)
	if err != nil {
		m.ev.StoreErr = err
		return storeUnavailable(err)
	}
	created := rt.endpoint.Creation()
	if !found || rec.Endpoint != created || (rt.provider != nil && rec.Provider != rt.provider.name) {
		return &Error{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "id", Code: "session_not_found",
			Message: "no brokered " + sessionNoun(created) + " " + quote(id) + " is known here"}
	}
	m.ev.Provider, m.ev.Model, m.ev.KeyID = rec.Provider, rec.Model, rec.KeyID
	if rec.VirtualKeyID != principal.ID {
		return &Error{Status: http.StatusForbidden, Type: typePermission, Code: "session_not_owned",
			Message: "the " + sessionNoun(created) + " was created by another caller"}
	}
	upstreamStart := h.now()
	ended := h.meters.ending(id, UsageHangup)
	resp, err := h.sendHangup(r.Context(), &rec, id, h.forwardHeader(r.Header))
	m.ev.UpstreamDuration = h.now().Sub(upstreamStart)
	ended(err == nil && resp.StatusCode >= 200 && resp.StatusCode <= 299)
	if errors.Is(err, errKeyNotConfigured) {
		m.ev.Err = err
		return &Error{Status: http.StatusConflict, Type: typeInvalidRequest, Code: "key_not_configured",
			Message: "the upstream key that created the " + sessionNoun(created) + " is no longer configured"}
	}
	if err != nil {
		return h.upstreamError(r.Context(), err, m)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return h.answerUpstreamError(w, resp, m)
	}
	// The session has ended: its lease is free and no cap is left to
	// enforce.
	if _, err := h.registry.End(r.Context(), rec.VirtualKeyID, id); err != nil {
		m.ev.StoreErr = err
	}
	m.ev.Status = resp.StatusCode
	writeReply(w, resp, replyContentType(resp, rt.endpoint))
	return nil
}

// key returns the provider's key with id, or nil.
func (p *provider) key(id string) *Key {
	for i := range p.keys {
		if p.keys[i].ID == id {
			return &p.keys[i]
		}
	}
	return nil
}
