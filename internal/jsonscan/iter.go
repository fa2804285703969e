package jsonscan

// Iter walks the members of an object, or the elements of an array, in
// document order. Unlike Members it sees every member, so that a caller
// can refuse the ones it does not know.
type Iter struct {
	doc    []byte
	i, end int // the next member's offset; the closing bracket's
	object bool
}

// Walk returns an Iter over the object or array at c.
func Walk(doc []byte, c Span) Iter {
	return Iter{doc: doc, i: skipSpace(doc, c.Start+1), end: c.End - 1, object: IsObject(doc, c)}
}

// Next returns the next member's key (its quotes included; zero for an
// array element) and value. ok is false past the last one.
func (it *Iter) Next() (key, value Span, ok bool) {
	doc := it.doc
	if it.i >= it.end {
		return Span{}, Span{}, false
	}
	v := it.i
	if it.object {
		keyEnd := skipString(doc, it.i)
		key = Span{it.i, keyEnd}
		v = skipSpace(doc, skipSpace(doc, keyEnd)+1) // past ':'
	}
	vEnd := skipValue(doc, v)
	it.i = skipSpace(doc, vEnd)
	if it.i < it.end && doc[it.i] == ',' {
		it.i = skipSpace(doc, it.i+1)
	}
	return key, Span{v, vEnd}, true
}

// Key returns the bytes between a key's quotes, as written, and whether
// they hold an escape (then String decodes the key).
func Key(doc []byte, key Span) (raw []byte, escaped bool) {
	raw = doc[key.Start+1 : key.End-1]
	for _, c := range raw {
		if c == '\\' {
			return raw, true
		}
	}
	return raw, false
}
