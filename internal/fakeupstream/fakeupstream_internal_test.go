package fakeupstream

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     io.Reader
		limit    int64
		want     string
		tooLarge bool
		err      bool
	}{
		{name: "nil", body: nil, limit: 10, want: ""},
		{name: "under", body: strings.NewReader("abc"), limit: 10, want: "abc"},
		{name: "exact", body: strings.NewReader("abcdefghij"), limit: 10, want: "abcdefghij"},
		{name: "over", body: strings.NewReader("abcdefghijk"), limit: 10, want: "abcdefghij", tooLarge: true},
		{name: "large", body: strings.NewReader(strings.Repeat("x", 5000)), limit: 1 << 20, want: strings.Repeat("x", 5000)},
		{name: "one byte at a time", body: iotest.OneByteReader(strings.NewReader("abcdef")), limit: 10, want: "abcdef"},
		{
			name: "read error", body: io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errors.New("reset"))),
			limit: 10, want: "ab", err: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, tooLarge, err := readBody(tc.body, tc.limit)
			assert.Equal(t, tc.want, string(got))
			assert.Equal(t, tc.tooLarge, tooLarge)
			if tc.err {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestObjectMembers(t *testing.T) {
	t.Parallel()
	ms, err := objectMembers([]byte(` { "a" : 1 , "b":{"c": [ 1, 2 ]}, "a":"x" } `))
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, "a", ms[0].key())
	assert.JSONEq(t, `"x"`, string(ms[0].value), "a repeated key keeps its last value")
	assert.Equal(t, "b", ms[1].key())
	assert.JSONEq(t, `{"c":[1,2]}`, string(ms[1].value))
	assert.Equal(t, byte('{'), ms[1].value[0], "values start without space")

	ms, err = objectMembers([]byte(`{"mod\u0065l":"a","model":"b","x\"y":{}}`))
	require.NoError(t, err)
	require.Len(t, ms, 2, "escaped keys are compared unescaped")
	assert.Equal(t, `"b"`, string(ms[0].value))
	assert.Equal(t, `x"y`, ms[1].key())

	for _, bad := range []string{`[]`, `1`, `{"a":1} 2`, ``, ` `, `{"a":1`} {
		_, err := objectMembers([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `"a\"b\\c\u0001\u001fé"`, string(appendString(nil, "a\"b\\c\x01\x1fé")))
}

func TestJoinList(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "'a'", joinList([]string{"'a'"}))
	assert.Equal(t, "'a' and 'b'", joinList([]string{"'a'", "'b'"}))
	assert.Equal(t, "'a', 'b', and 'c'", joinList([]string{"'a'", "'b'", "'c'"}))
}
