package sidecar

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkKnownKeys reports the first mapping key under n that has no field in
// the struct type t describes, with its line and path: a misspelt key must
// stop start-up, never silently leave a policy at its default.
//
// It does what yaml's Decoder.KnownFields does, on a tree: environment
// expansion needs the tree, and yaml.Node.Decode has no such option.
func checkKnownKeys(n *yaml.Node, t reflect.Type) error {
	return checkNode(n, t, "", map[*yaml.Node]bool{})
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func checkNode(n *yaml.Node, t reflect.Type, path string, seen map[*yaml.Node]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // the type checks its own node
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkNode(c, t, path, seen); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		if seen[n.Alias] {
			return nil
		}
		seen[n.Alias] = true
		return checkNode(n.Alias, t, path, seen)
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil // a type error, reported by the decoder
		}
		for i, c := range n.Content {
			if err := checkNode(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", seen); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				// A merge ("<<: *base") brings the keys of another mapping.
				if err := checkNode(v, t, path, seen); err != nil {
					return err
				}
				continue
			}
			switch t.Kind() {
			case reflect.Map:
				if err := checkNode(v, t.Elem(), join(path, k.Value), seen); err != nil {
					return err
				}
			case reflect.Struct:
				f, ok := fieldByKey(t, k.Value)
				if !ok {
					return fmt.Errorf("line %d: unknown key %q in %s (known: %s)",
						k.Line, k.Value, orTop(path), strings.Join(yamlKeys(t), ", "))
				}
				if err := checkNode(v, f.Type, join(path, k.Value), seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}
