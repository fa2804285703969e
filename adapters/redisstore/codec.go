package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// ErrCorruptValue is returned (wrapped) by Get when the value stored under a
// token's key is not a record this package wrote.
var ErrCorruptValue = errors.New("redisstore: corrupt stored value")

// valueVersion is the first byte of every stored value, so that a later
// format can be told apart from this one instead of being misread. A
// brokered session's record, the only kind with a CreatedAt, is written as
// valueVersionSession: the same fields and then CreatedAt, so token values
// keep their size.
//
// A record that names its principal's kind or session limits (every
// record the middleware writes since they were recorded) is written as
// valueVersionPrincipal: the fields of version 1, a flags byte, CreatedAt
// when the flags say so, then the kind and the limits. Versions 1 and 2
// are still read.
const (
	valueVersion          byte = 1
	valueVersionSession   byte = 2
	valueVersionPrincipal byte = 3
)

// Flags of version 3.
const (
	flagCreated   = 1 << iota // CreatedAt follows
	flagFailOpen              // GovernanceFailOpen
	flagSingleUse             // SingleUse
	flagsKnown    = flagCreated | flagFailOpen | flagSingleUse
)

// appendRecord appends the stored form of rec to dst:
//
//	version   1 byte (valueVersion)
//	endpoint  1 byte
//	seconds   varint, Unix seconds of ExpiresAt
//	nanos     uvarint, nanoseconds within that second
//	KeyID, VirtualKeyID, Provider, Model: each a uvarint length and the bytes
//	created   version 2 only: varint Unix seconds and uvarint nanoseconds of CreatedAt
//	flags     version 3 only: 1 byte; then created as above when flagCreated,
//	          PrincipalKind (uvarint length and bytes), MaxSessions (uvarint)
//	          and MaxSession (uvarint nanoseconds)
//
// The fields are short and the upstream's expiry has whole seconds, so a
// typical record takes about 40 bytes, a third of its JSON.
func appendRecord(dst []byte, rec *contract.Record) []byte {
	version := valueVersion
	switch {
	case rec.PrincipalKind != "" || rec.MaxSessions > 0 || rec.MaxSession > 0 || rec.GovernanceFailOpen || rec.SingleUse:
		version = valueVersionPrincipal
	case !rec.CreatedAt.IsZero():
		version = valueVersionSession
	}
	dst = append(dst, version, byte(rec.Endpoint))
	dst = binary.AppendVarint(dst, rec.ExpiresAt.Unix())
	dst = binary.AppendUvarint(dst, uint64(rec.ExpiresAt.Nanosecond())) //nolint:gosec // Nanosecond is in [0, 1e9)
	for _, s := range [...]string{rec.KeyID, rec.VirtualKeyID, rec.Provider, rec.Model} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	var flags byte
	if version == valueVersionPrincipal {
		if !rec.CreatedAt.IsZero() {
			flags |= flagCreated
		}
		if rec.GovernanceFailOpen {
			flags |= flagFailOpen
		}
		if rec.SingleUse {
			flags |= flagSingleUse
		}
		dst = append(dst, flags)
	}
	if version == valueVersionSession || flags&flagCreated != 0 {
		dst = binary.AppendVarint(dst, rec.CreatedAt.Unix())
		dst = binary.AppendUvarint(dst, uint64(rec.CreatedAt.Nanosecond())) //nolint:gosec // Nanosecond is in [0, 1e9)
	}
	if version == valueVersionPrincipal {
		dst = binary.AppendUvarint(dst, uint64(len(rec.PrincipalKind)))
		dst = append(dst, rec.PrincipalKind...)
		dst = binary.AppendUvarint(dst, uint64(max(rec.MaxSessions, 0))) //nolint:gosec // not negative
		dst = binary.AppendUvarint(dst, uint64(max(rec.MaxSession, 0)))  //nolint:gosec // not negative
	}
	return dst
}

// decodeRecord parses a value written by appendRecord. It takes the string
// go-redis returns, and the record's strings are substrings of it, so a
// decode allocates nothing. Anything else, truncated or with bytes left
// over, is ErrCorruptValue.
func decodeRecord(v string) (contract.Record, error) {
	d := decoder{s: v}
	version := d.byte()
	if version != valueVersion && version != valueVersionSession && version != valueVersionPrincipal {
		return contract.Record{}, ErrCorruptValue
	}
	var rec contract.Record
	rec.Endpoint = contract.Endpoint(d.byte())
	sec := d.varint()
	nsec := d.uvarint()
	rec.KeyID = d.string()
	rec.VirtualKeyID = d.string()
	rec.Provider = d.string()
	rec.Model = d.string()
	var flags byte
	if version == valueVersionPrincipal {
		flags = d.byte()
	}
	created := version == valueVersionSession || flags&flagCreated != 0
	var createdSec int64
	var createdNsec uint64
	if created {
		createdSec, createdNsec = d.varint(), d.uvarint()
	}
	var sessions, session uint64
	if version == valueVersionPrincipal {
		rec.PrincipalKind = d.string()
		sessions, session = d.uvarint(), d.uvarint()
	}
	if d.bad || d.s != "" || nsec >= uint64(time.Second) || createdNsec >= uint64(time.Second) || rec.Endpoint.Path() == "" ||
		flags&^flagsKnown != 0 || sessions > 1<<31 || session > 1<<62 {
		return contract.Record{}, ErrCorruptValue
	}
	rec.ExpiresAt = time.Unix(sec, int64(nsec))
	if created {
		rec.CreatedAt = time.Unix(createdSec, int64(createdNsec))
	}
	rec.MaxSessions, rec.MaxSession = int(sessions), time.Duration(session) //nolint:gosec // bounded above
	rec.GovernanceFailOpen = flags&flagFailOpen != 0
	rec.SingleUse = flags&flagSingleUse != 0
	return rec, nil
}

// decoder reads the fields of a stored value from the front of s. A read
// past the end, or an overlong varint, sets bad and yields zero values.
type decoder struct {
	s   string
	bad bool
}

func (d *decoder) byte() byte {
	if d.s == "" {
		d.bad = true
		return 0
	}
	b := d.s[0]
	d.s = d.s[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i == len(d.s) {
			break
		}
		b := d.s[i]
		if i == binary.MaxVarintLen64-1 && b > 1 {
			break // overflows 64 bits
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			d.s = d.s[i+1:]
			return x
		}
	}
	d.bad = true
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.s)) {
		d.bad = true
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}
