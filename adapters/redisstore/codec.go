package redisstore

import (
	"encoding/binary"
	"errors"
	"math"
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
// when the flags say so, then the kind and the limits, then the budget
// when the flags say so. Versions 1 and 2, and version 3 values written
// before budgets were recorded (no flagBudget), are still read.
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
	flagBudget                // Budget follows the limits
	flagsKnown    = flagCreated | flagFailOpen | flagSingleUse | flagBudget
)

// maxBudgetPerMillis bounds a stored Budget.Per, so that it converts back
// to a Duration without overflowing.
const maxBudgetPerMillis = math.MaxInt64 / int64(time.Millisecond)

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
//	          and MaxSession (uvarint nanoseconds); then, when flagBudget,
//	          Budget.USD (8 bytes, the IEEE-754 bits, little-endian: exact)
//	          and Budget.Per (uvarint whole milliseconds, as ledgers count
//	          periods; contract.Budget.Start)
//
// A budget is stored when it sets a limit (Budget.IsZero is false); one
// that does not reads back as the zero Budget, which sets none either.
//
// The fields are short and the upstream's expiry has whole seconds, so a
// typical record takes about 40 bytes, a third of its JSON.
func appendRecord(dst []byte, rec *contract.Record) []byte {
	version := valueVersion
	switch {
	case rec.PrincipalKind != "" || rec.MaxSessions > 0 || rec.MaxSession > 0 || rec.GovernanceFailOpen || rec.SingleUse ||
		!rec.Budget.IsZero():
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
		if !rec.Budget.IsZero() {
			flags |= flagBudget
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
	if flags&flagBudget != 0 {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(rec.Budget.USD))
		dst = binary.AppendUvarint(dst, uint64(max(rec.Budget.Per.Milliseconds(), 0))) //nolint:gosec // not negative
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
	var usd float64
	var perMillis uint64
	if flags&flagBudget != 0 {
		usd, perMillis = math.Float64frombits(d.uint64()), d.uvarint()
	}
	if d.bad || d.s != "" || nsec >= uint64(time.Second) || createdNsec >= uint64(time.Second) || rec.Endpoint.Path() == "" ||
		flags&^flagsKnown != 0 || sessions > 1<<31 || session > 1<<62 ||
		flags&flagBudget != 0 && !(usd > 0 && usd <= math.MaxFloat64) || perMillis > uint64(maxBudgetPerMillis) {
		return contract.Record{}, ErrCorruptValue
	}
	rec.ExpiresAt = time.Unix(sec, int64(nsec))
	if created {
		rec.CreatedAt = time.Unix(createdSec, int64(createdNsec))
	}
	rec.MaxSessions, rec.MaxSession = int(sessions), time.Duration(session) //nolint:gosec // bounded above
	rec.GovernanceFailOpen = flags&flagFailOpen != 0
	rec.SingleUse = flags&flagSingleUse != 0
	if flags&flagBudget != 0 {
		rec.Budget = contract.Budget{USD: usd, Per: time.Duration(perMillis) * time.Millisecond} //nolint:gosec // bounded above
	}
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

// uint64 reads 8 bytes, little-endian.
func (d *decoder) uint64() uint64 {
	if len(d.s) < 8 {
		d.bad = true
		return 0
	}
	x := uint64(d.s[0]) | uint64(d.s[1])<<8 | uint64(d.s[2])<<16 | uint64(d.s[3])<<24 |
		uint64(d.s[4])<<32 | uint64(d.s[5])<<40 | uint64(d.s[6])<<48 | uint64(d.s[7])<<56
	d.s = d.s[8:]
	return x
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
