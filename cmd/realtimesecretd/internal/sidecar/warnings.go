package sidecar

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// warnings returns what -check reports about a valid config that probably
// does not do what its author meant. A start logs the same lines at warn.
func (c *Config) warnings() []string {
	var out []string
	for _, name := range c.providerOrder {
		p := c.Providers[name]
		out = append(out, p.aliasWarnings(name)...)
		if p.APIVersion != "" && p.Beta != "forward" {
			out = append(out, "providers."+name+": api_version is unused: beta mints are translated onto the GA endpoint "+
				"(beta: translate, the default); set beta: forward to send them to the preview API instead")
		}
	}
	out = append(out, c.spendWarnings()...)
	out = append(out, c.leaseWarnings()...)
	if c.Admin.Token != "" && c.Admin.Listen == "" {
		out = append(out, "admin.token is set and admin.listen is not: the admin API ("+adminAPIPrefix+"{id}"+endSessionsSuffix+
			") is served on listen "+c.Listen+", beside the mint routes; set admin.listen to keep it on an address of its own")
	}
	return out
}

// leaseWarnings reports the virtual keys whose max_sessions counts
// sessions the sidecar cannot see end: without max_session or usage
// metering, a session that ends without a hang-up through the sidecar (the
// browser left) holds its lease until session_lifetime.
func (c *Config) leaseWarnings() []string {
	metered := c.UsageMetering
	for _, p := range c.Providers {
		if p.UsageMetering != nil {
			metered = metered || *p.UsageMetering
		}
	}
	if metered {
		return nil
	}
	var out []string
	for i, vk := range c.VirtualKeys {
		if vk.MaxSessions > 0 && vk.MaxSession == 0 {
			out = append(out, fmt.Sprintf("virtual_keys[%d] (%s): max_sessions without max_session or usage_metering: "+
				"a session that ends without a hang-up through the sidecar holds its lease until session_lifetime (%s); "+
				"set max_session, or usage_metering: true so that the sideband sees the end", i, vk.ID, time.Duration(c.SessionLifetime)))
		}
	}
	return out
}

// aliasWarnings reports the requested models that the enabled keys of one
// provider send upstream under different names: then the model a mint
// reaches depends on which key the weighted pick chose, as when only one of
// two Azure keys maps a model to its deployment.
func (p ProviderConfig) aliasWarnings(provider string) []string {
	var keys []KeyConfig
	for _, k := range p.Keys {
		if k.Enabled == nil || *k.Enabled {
			keys = append(keys, k)
		}
	}
	if len(keys) < 2 {
		return nil
	}
	// Every requested model any alias names, lower-cased as aliases match.
	requested := map[string]string{}
	for from := range p.Aliases {
		requested[strings.ToLower(from)] = from
	}
	for _, k := range keys {
		for from := range k.Aliases {
			requested[strings.ToLower(from)] = from
		}
	}
	var out []string
	for _, lower := range slices.Sorted(maps.Keys(requested)) {
		model := requested[lower]
		targets := map[string][]string{}
		for _, k := range keys {
			if !keyAllows(k, model) {
				continue
			}
			to := resolveAlias(k.Aliases, model)
			if to == "" {
				to = resolveAlias(p.Aliases, model)
			}
			if to == "" {
				to = model
			}
			targets[to] = append(targets[to], k.ID)
		}
		if len(targets) < 2 {
			continue
		}
		var parts []string
		for _, to := range slices.Sorted(maps.Keys(targets)) {
			parts = append(parts, fmt.Sprintf("%s: %q", quoteList(targets[to]), to))
		}
		out = append(out, fmt.Sprintf("providers.%s: the keys send model %q upstream under different names (%s): "+
			"a mint reaches whichever the key pick chose; put the alias under providers.%s.aliases to apply it to every key",
			provider, model, strings.Join(parts, "; "), provider))
	}
	return out
}

// resolveAlias is the core's alias lookup: exact, then case-insensitive;
// "" when aliases do not map model.
func resolveAlias(aliases map[string]string, model string) string {
	if to, ok := aliases[model]; ok {
		return to
	}
	for from, to := range aliases {
		if strings.EqualFold(from, model) {
			return to
		}
	}
	return ""
}

// keyAllows is the core's Key.allows for a model, on the YAML form.
func keyAllows(k KeyConfig, model string) bool {
	for _, b := range k.BlockedModels {
		if strings.EqualFold(b, model) {
			return false
		}
	}
	if len(k.Models) == 0 {
		return true
	}
	for _, m := range k.Models {
		if m == "*" || strings.EqualFold(m, model) {
			return true
		}
	}
	return false
}

func quoteList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return "key " + strings.Join(q, ", ")
}
