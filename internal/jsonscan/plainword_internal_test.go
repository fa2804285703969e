package jsonscan

import (
	"encoding/binary"
	"testing"
)

// TestPlainWordOneByte puts every byte value in every position of a word of
// plain bytes: plainWord must say false exactly when that byte is not plain.
func TestPlainWordOneByte(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			word := []byte("abcdefgh")
			word[pos] = byte(c)
			if got := plainWord(binary.LittleEndian.Uint64(word)); got != plain[c] {
				t.Fatalf("plainWord(%q) = %v, byte %#x at %d is plain: %v", word, got, c, pos, plain[c])
			}
		}
	}
}

// FuzzPlainWord checks that plainWord never says true for a word with a
// byte that is not plain, and says true for every word of plain bytes.
func FuzzPlainWord(f *testing.F) {
	for _, s := range []string{"abcdefgh", "v=0\\r\\no", "\x00\x00\x00\x00\x00\x00\x00\x00", "\"\\\x1f\x7f\x80\xff \x21", "\x21\x21\x21\x21\x21\x21\x21\x20"} {
		f.Add(binary.LittleEndian.Uint64([]byte(s)))
	}
	f.Fuzz(func(t *testing.T, w uint64) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		all := true
		for _, c := range b {
			all = all && plain[c]
		}
		if got := plainWord(w); got != all {
			t.Fatalf("plainWord(%q) = %v, all plain: %v", b, got, all)
		}
	})
}
