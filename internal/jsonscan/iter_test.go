package jsonscan_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/jsonscan"
)

// walked returns what Walk sees in the container at c: for an object its
// members as pairs, for an array its elements (with empty keys).
func walked(t *testing.T, doc []byte, c jsonscan.Span) []pair {
	t.Helper()
	var out []pair
	it := jsonscan.Walk(doc, c)
	for {
		key, value, ok := it.Next()
		if !ok {
			return out
		}
		var name string
		if key != (jsonscan.Span{}) {
			raw, escaped := jsonscan.Key(doc, key)
			name = string(raw)
			if escaped {
				var decoded bool
				name, decoded = jsonscan.String(doc, key)
				require.True(t, decoded)
			}
		}
		out = append(out, pair{key: name, raw: string(doc[value.Start:value.End])})
	}
}

func TestWalk(t *testing.T) {
	cases := []struct {
		doc  string
		want []pair
	}{
		{`{}`, nil},
		{` { } `, nil},
		{`[]`, nil},
		{`{"a":1}`, []pair{{"a", "1"}}},
		{`{ "a" : 1 , "b":{"c":[1,2]} ,"a":"x\"}"}`, []pair{{"a", "1"}, {"b", `{"c":[1,2]}`}, {"a", `"x\"}"`}}},
		{`{"mod\u0065l":null}`, []pair{{"model", "null"}}},
		{`[1, "two" ,{"three":3},[4]]`, []pair{{"", "1"}, {"", `"two"`}, {"", `{"three":3}`}, {"", "[4]"}}},
	}
	for _, tc := range cases {
		doc := []byte(tc.doc)
		require.True(t, jsonscan.Valid(doc), tc.doc)
		assert.Equal(t, tc.want, walked(t, doc, jsonscan.Root(doc)), tc.doc)
	}
}

// FuzzWalk checks Walk against encoding/json on the top-level object or
// array of any valid document.
func FuzzWalk(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[1,"a",{"b":[]},null, true ]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !jsonscan.Valid(doc) {
			return
		}
		root := jsonscan.Root(doc)
		switch {
		case jsonscan.IsObject(doc, root):
			want, ok := pairsOf(doc)
			require.True(t, ok)
			assert.Equal(t, want, walked(t, doc, root))
		case doc[root.Start] == '[':
			var elems []json.RawMessage
			require.NoError(t, json.Unmarshal(doc, &elems))
			var want []pair
			for _, e := range elems {
				want = append(want, pair{raw: string(e)})
			}
			assert.Equal(t, want, walked(t, doc, root))
		}
	})
}
