package realtimesecret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// sealedPrefix marks a sealed token: "ek_rs_" + base64url(nonce|ciphertext).
// It keeps "ek_" so clients and SDKs treat it as any ephemeral key.
const sealedPrefix = "ek_rs_"

// sealFormat is the first plaintext byte; a new layout gets a new value.
// Format 2 adds the principal's kind and session limits (and flags) after
// the five strings of format 1, which still opens; a budget
// (sealFlagBudget) follows the flags byte, absent from the tokens sealed
// before budgets were, which still open.
const (
	sealFormat1 = 1
	sealFormat  = 2
)

// Flags of format 2.
const (
	sealFlagFailOpen  = 1 << iota // Record.GovernanceFailOpen
	sealFlagSingleUse             // Record.SingleUse
	sealFlagBudget                // Record.Budget follows the flags
	sealFlagsKnown    = sealFlagFailOpen | sealFlagSingleUse | sealFlagBudget
)

// sealMaxBudgetPerMillis bounds a sealed Budget.Per, so that it converts
// back to a Duration without overflowing.
const sealMaxBudgetPerMillis = math.MaxInt64 / int64(time.Millisecond)

// sealAAD binds ciphertexts to this use, so a blob sealed for something
// else with the same key does not open here.
var sealAAD = []byte("realtimesecret sealed token v1")

// ErrInvalidSealedToken is wrapped by RedeemEvent.Err when a sealed token
// is malformed, forged, sealed with an unknown key or expired.
var ErrInvalidSealedToken = errors.New("realtimesecret: invalid sealed token")

var (
	errSealedMalformed = fmt.Errorf("%w: malformed", ErrInvalidSealedToken)
	errSealedForged    = fmt.Errorf("%w: does not open with any seal key", ErrInvalidSealedToken)
	errSealedExpired   = fmt.Errorf("%w: expired", ErrInvalidSealedToken)
)

// sealKeySize is the length of a SealKey: AES-256 takes 32 bytes.
const sealKeySize = 32

// ErrInvalidSealKey is wrapped by the errors of ParseSealKey.
var ErrInvalidSealKey = errors.New("realtimesecret: invalid seal key")

// ParseSealKey decodes a seal key written in base64, standard or URL-safe,
// padded or not, as "openssl rand -base64 32" prints it; surrounding
// whitespace is ignored. The key must decode to exactly sealKeySize bytes:
// a short key is never padded. The error wraps ErrInvalidSealKey and never
// holds key material.
//
//	key, err := realtimesecret.ParseSealKey(os.Getenv("SEAL_KEY"))
//	cfg.SealKeys = []realtimesecret.SealKey{key}
func ParseSealKey(b64 string) (SealKey, error) {
	text := strings.TrimSpace(b64)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) != sealKeySize {
			return nil, fmt.Errorf("%w: %d bytes, want %d (generate one with: openssl rand -base64 32)", ErrInvalidSealKey, len(key), sealKeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: not base64 (generate one with: openssl rand -base64 32)", ErrInvalidSealKey)
}

// sealer seals minted tokens with AES-256-GCM: the first key seals, every
// key opens, so keys can be rotated by prepending a new one.
type sealer struct {
	aeads []cipher.AEAD
}

func newSealer(keys []SealKey) (*sealer, error) {
	s := &sealer{}
	for i, k := range keys {
		if len(k) != sealKeySize {
			return nil, configError("seal key %d is %d bytes; AES-256 needs %d", i, len(k), sealKeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, configError("seal key %d: %v", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, configError("seal key %d: %v", i, err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// seal returns the sealed form of the upstream token and its record. The
// plaintext of format 2: the format, the endpoint, ExpiresAt (8 bytes,
// Unix seconds), the upstream token, KeyID, VirtualKeyID, Provider, Model
// and PrincipalKind (each a uvarint length and the bytes), MaxSessions
// (uvarint), MaxSession (uvarint nanoseconds), the flags byte, then with
// sealFlagBudget Budget.USD (the 8 bytes of its IEEE-754 bits, big-endian:
// exact) and Budget.Per (a uvarint of whole milliseconds, as ledgers count
// periods). A budget is sealed when it sets a limit (Budget.IsZero is
// false).
func (s *sealer) seal(token string, rec *Record) (string, error) {
	plain := make([]byte, 0, 80+len(token)+len(rec.KeyID)+len(rec.VirtualKeyID)+len(rec.Provider)+len(rec.Model)+len(rec.PrincipalKind))
	plain = append(plain, sealFormat, byte(rec.Endpoint))
	plain = binary.BigEndian.AppendUint64(plain, uint64(rec.ExpiresAt.Unix())) //nolint:gosec // bit pattern round-trips through int64 in decodeSealed
	for _, f := range [...]string{token, rec.KeyID, rec.VirtualKeyID, rec.Provider, rec.Model} {
		plain = binary.AppendUvarint(plain, uint64(len(f)))
		plain = append(plain, f...)
	}
	plain = binary.AppendUvarint(plain, uint64(len(rec.PrincipalKind)))
	plain = append(plain, rec.PrincipalKind...)
	plain = binary.AppendUvarint(plain, uint64(max(rec.MaxSessions, 0))) //nolint:gosec // not negative
	plain = binary.AppendUvarint(plain, uint64(max(rec.MaxSession, 0)))  //nolint:gosec // not negative
	var flags byte
	if rec.GovernanceFailOpen {
		flags |= sealFlagFailOpen
	}
	if rec.SingleUse {
		flags |= sealFlagSingleUse
	}
	if !rec.Budget.IsZero() {
		flags |= sealFlagBudget
	}
	plain = append(plain, flags)
	if flags&sealFlagBudget != 0 {
		plain = binary.BigEndian.AppendUint64(plain, math.Float64bits(rec.Budget.USD))
		plain = binary.AppendUvarint(plain, uint64(max(rec.Budget.Per.Milliseconds(), 0))) //nolint:gosec // not negative
	}
	aead := s.aeads[0]
	blob := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(blob); err != nil {
		return "", err
	}
	blob = aead.Seal(blob, blob, plain, sealAAD)
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(blob), nil
}

// open returns the upstream token and record of a sealed token that is
// authentic and not expired at now.
func (s *sealer) open(sealed string, now time.Time) (string, Record, error) {
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
	if err != nil {
		return "", Record{}, errSealedMalformed
	}
	var plain []byte
	for _, aead := range s.aeads {
		n := aead.NonceSize()
		if len(blob) < n+aead.Overhead() {
			return "", Record{}, errSealedMalformed
		}
		if plain, err = aead.Open(nil, blob[:n], blob[n:], sealAAD); err == nil {
			break
		}
	}
	if err != nil {
		return "", Record{}, errSealedForged
	}
	token, rec, ok := decodeSealed(plain)
	if !ok {
		return "", Record{}, errSealedMalformed
	}
	if !now.Before(rec.ExpiresAt) {
		return "", Record{}, errSealedExpired
	}
	return token, rec, nil
}

// decodeSealed parses the plaintext layout written by seal.
func decodeSealed(p []byte) (string, Record, bool) {
	if len(p) < 10 || (p[0] != sealFormat && p[0] != sealFormat1) {
		return "", Record{}, false
	}
	format := p[0]
	rec := Record{
		Endpoint:  Endpoint(p[1]),
		ExpiresAt: time.Unix(int64(binary.BigEndian.Uint64(p[2:10])), 0), //nolint:gosec // the int64 written by seal
	}
	p = p[10:]
	var fields [6]string
	n := 5
	if format == sealFormat {
		n = 6 // and PrincipalKind
	}
	for i := range fields[:n] {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) { //nolint:gosec // len(p)-w >= 0 since w <= len(p)
			return "", Record{}, false
		}
		end := w + int(n) //nolint:gosec // n <= len(p)-w, checked above
		fields[i], p = string(p[w:end]), p[end:]
	}
	if format == sealFormat {
		sessions, w1 := binary.Uvarint(p)
		if w1 <= 0 {
			return "", Record{}, false
		}
		session, w2 := binary.Uvarint(p[w1:])
		if w2 <= 0 || len(p) < w1+w2+1 || p[w1+w2]&^sealFlagsKnown != 0 || sessions > 1<<31 || session > 1<<62 {
			return "", Record{}, false
		}
		flags := p[w1+w2]
		rec.MaxSessions, rec.MaxSession = int(sessions), time.Duration(session) //nolint:gosec // bounded above
		rec.GovernanceFailOpen = flags&sealFlagFailOpen != 0
		rec.SingleUse = flags&sealFlagSingleUse != 0
		p = p[w1+w2+1:]
		if flags&sealFlagBudget != 0 {
			if len(p) < 8 {
				return "", Record{}, false
			}
			usd := math.Float64frombits(binary.BigEndian.Uint64(p))
			per, w := binary.Uvarint(p[8:])
			if w <= 0 || !(usd > 0 && usd <= math.MaxFloat64) || per > uint64(sealMaxBudgetPerMillis) {
				return "", Record{}, false
			}
			rec.Budget = contract.Budget{USD: usd, Per: time.Duration(per) * time.Millisecond} //nolint:gosec // bounded above
			p = p[8+w:]
		}
	}
	if len(p) != 0 || fields[0] == "" {
		return "", Record{}, false
	}
	rec.KeyID, rec.VirtualKeyID, rec.Provider, rec.Model, rec.PrincipalKind = fields[1], fields[2], fields[3], fields[4], fields[5]
	return fields[0], rec, true
}
