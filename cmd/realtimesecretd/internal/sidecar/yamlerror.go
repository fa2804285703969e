package sidecar

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// yamlSyntax matches the yaml package's syntax errors: "yaml: line N: ...".
var yamlSyntax = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems the yaml package's parser (not its
// scanner) reports. For these it prints the 0-based line of the mark as if
// it were 1-based, one line too low; scanner errors are right.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError rewrites a YAML syntax error of data: it names the right
// line, and when that line holds "${" inside [...] or {...} (the common
// `seal_keys: [${SEAL_KEY}]`), it says why and how to fix it: in a flow
// collection a plain value cannot hold '{' or '}', so the reference must be
// quoted. The line's text is never quoted back: it may hold a secret.
func syntaxError(err error, data []byte) error {
	m := yamlSyntax.FindStringSubmatch(err.Error())
	if m == nil {
		return sanitizeYAMLError(err)
	}
	line, _ := strconv.Atoi(m[1])
	problem := m[2]
	if parserProblems[problem] {
		line++
	}
	msg := "line " + strconv.Itoa(line) + ": " + problem
	// A flow collection's error names the line the collection starts on;
	// it may go on over the next lines.
	closer, flow := flowCloser[problem]
	if flow {
		msg += " (in the " + map[byte]string{']': "[...]", '}': "{...}"}[closer] + " that starts on this line)"
	}
	for i, text := range linesFrom(data, line, 20) {
		ref := strings.Index(text, "${")
		if ref >= 0 && (flow || strings.ContainsAny(text[:ref], "[{")) {
			msg += `: a ${...} reference inside [...] or {...} must be quoted, like seal_keys: ["${SEAL_KEY}"] or {value: "${VK_WEB}"}`
			break
		}
		if !flow || (i > 0 && strings.IndexByte(text, closer) >= 0) {
			break
		}
	}
	return errors.New(msg)
}

// flowCloser maps the flow collection problems to their closing bracket.
var flowCloser = map[string]byte{
	"did not find expected ',' or ']'": ']',
	"did not find expected ',' or '}'": '}',
}

// linesFrom returns up to max lines of data from line n (1-based).
func linesFrom(data []byte, n, limit int) []string {
	var out []string
	for i := 1; len(data) > 0 && len(out) < limit; i++ {
		l, rest, _ := bytes.Cut(data, []byte("\n"))
		if i >= n {
			out = append(out, string(l))
		}
		data = rest
	}
	return out
}
