package sidecar

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment expansion works on the parsed YAML tree, in scalar values only,
// never on the raw text: a variable whose value contains YAML syntax (": ",
// "{", a newline) stays one scalar and cannot add keys or weaken policy.
//
// Syntax, in any scalar value (not in mapping keys):
//
//	${NAME}           the variable's value; unset is an error naming NAME
//	${NAME:-default}  the value, or default when unset or empty
//	$$                a literal "$"
//
// A "$" followed by anything else is kept as it is.

// errUnsetVariable is wrapped by the error for variables that are not set.
var errUnsetVariable = errors.New("environment variable not set")

// LookupEnv reports the value of an environment variable, like os.LookupEnv.
type LookupEnv func(name string) (string, bool)

// expandNode expands the variables in every scalar value under n, in place.
// It collects every unset variable into one error, so that a first run shows
// all of them at once. Values are never part of an error.
func expandNode(n *yaml.Node, env LookupEnv) error {
	var unset []string
	seen := map[string]bool{}
	var firstErr error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i])
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			out, missing, err := expandString(n.Value, env)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("line %d: %w", n.Line, err)
				}
				return
			}
			for _, name := range missing {
				if !seen[name] {
					seen[name] = true
					unset = append(unset, fmt.Sprintf("%s (line %d)", name, n.Line))
				}
			}
			n.Value = out
			if n.Style == 0 {
				// A plain scalar gets its type from the expanded text, as if
				// it had been written there: "${WEIGHT}" may become 2. A
				// quoted or tagged one stays what it says.
				n.Tag = ""
			}
		case yaml.AliasNode:
			// The anchored node is expanded where it is defined; expanding
			// it again through an alias would expand a variable's value.
		}
	}
	walk(n)
	if firstErr != nil {
		return firstErr
	}
	if len(unset) > 0 {
		return fmt.Errorf("%w: %s", errUnsetVariable, strings.Join(unset, ", "))
	}
	return nil
}

// expandString expands s. It returns the names of referenced variables that
// are unset (and have no default); the result is then incomplete. err is for
// malformed references and never holds a value.
func expandString(s string, env LookupEnv) (out string, unset []string, err error) {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), unset, nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", nil, errors.New(`"${" without a closing "}" (write "$$" for a literal "$")`)
		}
		ref := s[i+2 : i+2+end]
		s = s[i+2+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			// The text is not quoted back: it may be part of a secret that
			// happens to contain "${".
			return "", nil, errors.New(`"${...}" does not hold a variable name (letters, digits and _, not starting with a digit; write "$$" for a literal "$")`)
		}
		v, ok := env(name)
		switch {
		case hasDef && v == "":
			b.WriteString(def)
		case ok:
			b.WriteString(v)
		default:
			unset = append(unset, name)
		}
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
