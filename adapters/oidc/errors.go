package oidc

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// unauthenticated is a 401 in OpenAI's shape, with the WWW-Authenticate
// challenge of RFC 6750. Its message never holds the token.
func unauthenticated(code, msg string, cause error) *realtimesecret.Error {
	challenge := `Bearer error="invalid_token"`
	if code == "missing_token" {
		challenge = "Bearer"
	}
	return &realtimesecret.Error{Status: http.StatusUnauthorized, Type: "authentication_error", Code: code,
		Message: msg, Err: cause, Header: http.Header{"Www-Authenticate": {challenge}}}
}

func forbidden(msg string) *realtimesecret.Error {
	return &realtimesecret.Error{Status: http.StatusForbidden, Type: "permission_error", Code: "policy_forbids", Message: msg}
}

// tokenError maps a failed verification to its 401. The message says
// which check failed, as RFC 6750's error_description may; the cause goes
// to the log line.
func tokenError(err error) *realtimesecret.Error {
	msg := "the token is not valid"
	switch {
	case errors.Is(err, errNoKeys):
		msg = "the identity provider's signing keys are not available; try again later"
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "the token is malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "the token was not issued for this service"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "the token lacks a required claim"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "the token's signature cannot be verified"
	}
	return unauthenticated("invalid_token", msg, err)
}

// allows applies p to the intent of user's request. A hang-up needs no
// more than a valid token: whether the caller may end the session is
// decided by who created it.
func allows(p *Policy, user string, in realtimesecret.Intent) *realtimesecret.Error {
	who := "user " + quote(user)
	switch {
	case in.Endpoint.IsHangup():
		return nil
	case len(p.Providers) > 0 && !contains(p.Providers, in.Provider):
		return &realtimesecret.Error{Status: http.StatusForbidden, Type: "permission_error", Code: "provider_not_allowed",
			Message: who + " may not mint for provider " + quote(in.Provider)}
	case in.Model == "" && in.Endpoint == contract.EndpointAuthToken && len(p.Models) > 0 && !matchModel(p.Models, "*"):
		// A Gemini token without a model opens a session with any.
		return &realtimesecret.Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "bidiGenerateContentSetup.model",
			Code: "missing_model", Message: "bidiGenerateContentSetup.model is required: " + who + " may mint for some models only"}
	case len(p.Models) > 0 && !matchModel(p.Models, in.Model):
		return &realtimesecret.Error{Status: http.StatusForbidden, Type: "permission_error", Code: "model_not_allowed",
			Message: who + " may not mint for model " + quote(in.Model)}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func matchModel(list []string, model string) bool {
	for _, m := range list {
		if m == "*" || strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

// quote quotes s for a message, cut to 64 bytes: it may be the caller's.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// jsonNumber writes a number claim as JSON does.
func jsonNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
