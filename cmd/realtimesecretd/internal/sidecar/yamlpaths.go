package sidecar

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileIndex says where each key of a config file is and which variables its
// value reads, so that an error about a value can name its YAML path, its
// line and the variable to set, never the value. Paths are written as the
// errors write them: "virtual_keys[0].rate_limit", "providers.openai.keys[1]".
type fileIndex struct {
	// lines maps a path to the line of its key (of its item, in a list).
	lines map[string]int
	// vars maps a path to the variables its value references.
	vars map[string][]string
	// expanded holds the scalar nodes that hold a "$" before expansion,
	// with the variables they read: their text may come from a variable,
	// so it is never quoted back.
	expanded map[*yaml.Node][]string
}

// varName matches the name in a "${NAME}" or "${NAME:-default}" reference.
var varName = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// indexFile indexes the document doc before its variables are expanded.
func indexFile(doc *yaml.Node) *fileIndex {
	ix := &fileIndex{lines: map[string]int{}, vars: map[string][]string{}, expanded: map[*yaml.Node][]string{}}
	ix.walk(doc, "", map[*yaml.Node]bool{})
	return ix
}

func (ix *fileIndex) walk(n *yaml.Node, path string, seen map[*yaml.Node]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			ix.walk(c, path, seen)
		}
	case yaml.AliasNode:
		// An alias repeats its anchor's keys under another path.
		if seen[n.Alias] {
			return
		}
		seen[n.Alias] = true
		ix.walk(n.Alias, path, seen)
		delete(seen, n.Alias)
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			ix.add(p, c.Line)
			ix.walk(c, p, seen)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				ix.walk(v, path, seen)
				continue
			}
			p := join(path, k.Value)
			ix.add(p, k.Line)
			ix.walk(v, p, seen)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		var names []string
		for _, m := range varName.FindAllStringSubmatch(n.Value, -1) {
			names = append(names, m[1])
		}
		ix.expanded[n] = names
		ix.vars[path] = names
	}
}

// add keeps the first line of a path: a key written twice is an error the
// decoder reports, and a merged key is overridden where it is written.
func (ix *fileIndex) add(path string, line int) {
	if _, ok := ix.lines[path]; !ok {
		ix.lines[path] = line
	}
}

// forget drops path's line: its value no longer comes from the file.
func (ix *fileIndex) forget(path string) {
	if ix != nil {
		delete(ix.lines, path)
	}
}

// at returns "line N: path" for an error about path, with the line of path
// or, for a key the file leaves out (a default), of its nearest parent;
// path alone when neither is in the file.
func (ix *fileIndex) at(path string) string {
	if ix == nil {
		return path
	}
	for p := path; p != ""; p = parentPath(p) {
		if line, ok := ix.lines[p]; ok {
			return "line " + strconv.Itoa(line) + ": " + path
		}
	}
	return path
}

// setHint asks whether the variables the value at path reads are set, by
// name when the file names them.
func (ix *fileIndex) setHint(path string) string {
	return "is " + ix.varsOf(path) + " set?"
}

// varsOf names the variables the value at path reads, for an error that
// says which to set: "VK_WEB", or "its variable" when the value is written
// in the file.
func (ix *fileIndex) varsOf(path string) string {
	if ix != nil && len(ix.vars[path]) > 0 {
		return strings.Join(ix.vars[path], " or ")
	}
	return "its variable"
}

// parentPath returns the path path is in: "a.b[0]" for "a.b[0].c", "a.b"
// for "a.b[0]", "" at the top.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
