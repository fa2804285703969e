package upstream

import (
	"errors"
	"net/url"
	"strings"
)

// ParseBaseURL checks raw, the configured root of an upstream API, and
// returns it as scheme://host/path without trailing slashes, ready for an
// endpoint path to be appended. field names the setting in errors (for
// example "BaseURL"). raw must be an absolute http or https URL with a host
// and no user info, query or fragment. Errors never quote raw, which could
// hold credentials.
func ParseBaseURL(field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input.
		return "", errors.New(field + " is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New(field + " must be an absolute http or https URL")
	case u.Host == "" || u.Opaque != "":
		return "", errors.New(field + " has no host")
	case u.User != nil:
		return "", errors.New(field + " must not hold user info; keys go in Key.Value")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", errors.New(field + " must not have a query or fragment")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}
