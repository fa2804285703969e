// Package openai is the realtimesecret.Provider for the OpenAI API and for
// OpenAI-compatible vendors that serve the same Realtime mint endpoints below
// another base URL.
//
// A Provider posts the middleware's normalized body to
// {BaseURL}/v1/realtime/<endpoint> with "Authorization: Bearer <key>" and
// hands back the upstream reply, whatever its status, with a gzip body
// decoded. It never follows a redirect, so the key only ever goes to BaseURL;
// no error it returns contains the key, and a reply body that echoes the key
// (a vendor's 401 may) has it replaced.
//
//	p, err := openai.New(openai.Config{})
//	if err != nil {
//		return err
//	}
//	cfg.Providers = append(cfg.Providers, realtimesecret.ProviderConfig{Name: "openai", Provider: p, Keys: keys})
package openai
