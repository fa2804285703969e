package sidecar

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkTypes reports the first value under n (expanded) that does not fit
// its field of the struct type t, by its YAML path and line:
// "line 12: virtual_keys[0].max_sessions: want an integer, got "two"",
// where the yaml package would say "line 12: cannot unmarshal !!str into
// sidecar.Count", naming a Go type and not the key.
//
// A value is quoted back only when it is written in the file and short; a
// value that comes from a variable is named by its variable, never shown:
// it may be a secret put in the wrong place.
func checkTypes(n *yaml.Node, t reflect.Type, ix *fileIndex) error {
	w := &typeWalker{ix: ix, seen: map[*yaml.Node]bool{}}
	return w.check(n, t, "")
}

type typeWalker struct {
	ix   *fileIndex
	seen map[*yaml.Node]bool
}

var (
	durationType = reflect.TypeFor[Duration]()
	countType    = reflect.TypeFor[Count]()
)

// maxQuoted is the longest value an error quotes back.
const maxQuoted = 16

func (w *typeWalker) check(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := w.check(c, t, path); err != nil {
				return err
			}
		}
		return nil
	case yaml.AliasNode:
		if w.seen[n.Alias] {
			return nil
		}
		w.seen[n.Alias] = true
		defer delete(w.seen, n.Alias)
		return w.check(n.Alias, t, path)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil // the field's zero value, its default
	}
	switch t {
	case durationType:
		return w.duration(n, path)
	case countType:
		if !w.isInt(n) {
			return w.wrong(n, path, "an integer")
		}
		if v, _ := strconv.Atoi(n.Value); v < 0 || strings.HasPrefix(n.Value, "-") {
			return fmt.Errorf("%s: must not be negative (0 means no limit)", w.ix.at(path))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return w.mapping(n, t, path)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return w.wrong(n, path, "a list, like [a, b]")
		}
		for i, c := range n.Content {
			if err := w.check(c, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return w.wrong(n, path, "a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return w.wrong(n, path, "true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !w.isInt(n) {
			return w.wrong(n, path, "an integer")
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			return w.wrong(n, path, "a number")
		}
	}
	return nil
}

// mapping checks the entries of a mapping for a struct (by their YAML key)
// or a map. Unknown keys are checkKnownKeys's to report.
func (w *typeWalker) mapping(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		return w.wrong(n, path, "a mapping (key: value)")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			// "<<: *base" or "<<: [*a, *b]" brings another mapping's keys.
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				if err := w.check(m, t, path); err != nil {
					return err
				}
			}
			continue
		}
		elem := t
		if t.Kind() == reflect.Map {
			elem = t.Elem()
		} else if f, ok := fieldByKey(t, k.Value); ok {
			elem = f.Type
		} else {
			continue
		}
		if err := w.check(v, elem, join(path, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

func (w *typeWalker) isInt(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int"
}

func (w *typeWalker) duration(n *yaml.Node, path string) error {
	const want = "want one like 30s, 10m or 1h30m"
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: not a duration: %s, got %s", w.ix.at(path), want, w.describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%s: not a duration: %s, got %s%s", w.ix.at(path), want, w.describe(n), durationHint(n.Value))
	}
	if v < 0 {
		return fmt.Errorf("%s: a duration must not be negative", w.ix.at(path))
	}
	return nil
}

// wrong is the error for a value of the wrong kind at path.
func (w *typeWalker) wrong(n *yaml.Node, path, want string) error {
	return fmt.Errorf("%s: want %s, got %s", w.ix.at(path), want, w.describe(n))
}

// describe says what n is without showing a value that may be secret.
func (w *typeWalker) describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if names, ok := w.ix.expanded[n]; ok {
		if len(names) == 0 {
			return "a value with a $ in it"
		}
		refs := make([]string, len(names))
		for i, name := range names {
			refs[i] = "${" + name + "}"
		}
		return "the value of " + strings.Join(refs, " and ")
	}
	quoted := ""
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		quoted = " (quoted, so it is a string: remove the quotes)"
	}
	if len(n.Value) > maxQuoted {
		return fmt.Sprintf("a value of %d characters%s", len(n.Value), quoted)
	}
	return strconv.Quote(n.Value) + quoted
}

// dayDuration matches a duration with days or weeks, which Go's durations
// do not have: "1d", "2w", "1d12h".
var dayDuration = regexp.MustCompile(`^(\d{1,4})([dw])(.*)$`)

// durationHint says how to write a value people often write for a
// duration: "1d" is "24h"; "30" needs a unit.
func durationHint(s string) string {
	if m := dayDuration.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		hours := n * 24
		if m[2] == "w" {
			hours *= 7
		}
		if m[3] == "" {
			return fmt.Sprintf(" (write %dh: durations have no days or weeks)", hours)
		}
		if rest, err := time.ParseDuration(m[3]); err == nil && rest >= 0 {
			return fmt.Sprintf(" (write %s: durations have no days or weeks)", (time.Duration(hours)*time.Hour + rest).String())
		}
		return " (durations have no days or weeks: write hours, like 24h)"
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return " (add a unit, like 30s)"
	}
	return ""
}
