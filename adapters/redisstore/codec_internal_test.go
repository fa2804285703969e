package redisstore

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

var typicalRecord = realtimesecret.Record{
	KeyID:        "primary",
	VirtualKeyID: "web",
	Provider:     "openai",
	Model:        "gpt-realtime",
	Endpoint:     contract.EndpointClientSecret,
	ExpiresAt:    time.Unix(1756310470, 0),
}

func TestAppendRecordLayout(t *testing.T) {
	got := appendRecord(nil, &typicalRecord)
	want := "\x01\x01" + // version, endpoint
		"\x8c\xaf\xf9\x8a\x0d" + "\x00" + // zigzag varint 1756310470, 0 ns
		"\x07primary" + "\x03web" + "\x06openai" + "\x0cgpt-realtime"
	assert.Equal(t, want, string(got))
	assert.Len(t, got, 40)
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  realtimesecret.Record
	}{
		{name: "typical", rec: typicalRecord},
		{name: "empty strings", rec: realtimesecret.Record{Endpoint: contract.EndpointSession, ExpiresAt: time.Unix(1, 0)}},
		{name: "nanoseconds", rec: realtimesecret.Record{Endpoint: contract.EndpointTranslation, ExpiresAt: time.Unix(1756310470, 999_999_999)}},
		{name: "before 1970", rec: realtimesecret.Record{Endpoint: contract.EndpointTranscriptionSession, ExpiresAt: time.Unix(-5, 7)}},
		{name: "brokered session", rec: realtimesecret.Record{KeyID: "k", VirtualKeyID: "web", Provider: "openai", Model: "gpt-live-1",
			Endpoint: contract.EndpointLiveSession, ExpiresAt: time.Unix(1756310470, 0), CreatedAt: time.Unix(1756303270, 123)}},
		{name: "a user's token", rec: realtimesecret.Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "gpt-realtime",
			Endpoint: contract.EndpointClientSecret, ExpiresAt: time.Unix(1756310470, 0),
			PrincipalKind: "user", MaxSessions: 2, MaxSession: 5 * time.Minute, GovernanceFailOpen: true, SingleUse: true}},
		{name: "a user's session", rec: realtimesecret.Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "gpt-live-1",
			Endpoint: contract.EndpointLiveSession, ExpiresAt: time.Unix(1756310470, 0), CreatedAt: time.Unix(1756303270, 123),
			PrincipalKind: "user", MaxSessions: 1}},
		{name: "a user's token with a budget", rec: realtimesecret.Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "gpt-realtime",
			Endpoint: contract.EndpointClientSecret, ExpiresAt: time.Unix(1756310470, 0),
			PrincipalKind: "user", MaxSessions: 2, SingleUse: true, Budget: contract.Budget{USD: 0.1 + 0.2, Per: 24 * time.Hour}}},
		{name: "a user's session with a budget", rec: realtimesecret.Record{KeyID: "k", VirtualKeyID: "alice", Provider: "openai", Model: "gpt-live-1",
			Endpoint: contract.EndpointLiveSession, ExpiresAt: time.Unix(1756310470, 0), CreatedAt: time.Unix(1756303270, 123),
			PrincipalKind: "user", Budget: contract.Budget{USD: 1e9, Per: time.Minute}}},
		{name: "only a budget", rec: realtimesecret.Record{Endpoint: contract.EndpointCall, ExpiresAt: time.Unix(3, 0),
			Budget: contract.Budget{USD: 5e-324, Per: 1500 * time.Millisecond}}},
		{name: "a virtual key's, no limits", rec: realtimesecret.Record{VirtualKeyID: "web", Endpoint: contract.EndpointCall,
			ExpiresAt: time.Unix(1756310470, 0), PrincipalKind: "virtual_key"}},
		{name: "long field", rec: realtimesecret.Record{Model: string(make([]byte, 70000)), Endpoint: contract.EndpointSession, ExpiresAt: time.Unix(2, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRecord(string(appendRecord(nil, &tc.rec)))
			require.NoError(t, err)
			assert.True(t, tc.rec.ExpiresAt.Equal(got.ExpiresAt))
			assert.True(t, tc.rec.CreatedAt.Equal(got.CreatedAt))
			got.ExpiresAt, got.CreatedAt = tc.rec.ExpiresAt, tc.rec.CreatedAt
			assert.Equal(t, tc.rec, got)
		})
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	valid := string(appendRecord(nil, &typicalRecord))
	tests := []struct {
		name  string
		value string
	}{
		{name: "empty", value: ""},
		{name: "other version", value: "\x03" + valid[1:]},
		{name: "session version without its created time", value: "\x02" + valid[1:]},
		{name: "JSON", value: `{"key_id":"primary"}`},
		{name: "unknown endpoint", value: valid[:1] + "\x00" + valid[2:]},
		{name: "endpoint past the last", value: valid[:1] + "\x7f" + valid[2:]},
		{name: "truncated", value: valid[:len(valid)-1]},
		{name: "truncated in a varint", value: valid[:4]},
		{name: "trailing byte", value: valid + "x"},
		{name: "nanoseconds out of range", value: "\x01\x01\x02" + "\x80\x94\xeb\xdc\x03" + "\x00\x00\x00\x00"},
		{name: "length past the end", value: "\x01\x01\x02\x00" + "\x7f"},
		{name: "varint over 64 bits", value: "\x01\x01" + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"},
		{name: "varint never ends", value: "\x01\x01\x80\x80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeRecord(tc.value)
			require.ErrorIs(t, err, ErrCorruptValue)
		})
	}
}

func TestDecodeRecordAllocatesNothing(t *testing.T) {
	v := string(appendRecord(nil, &typicalRecord))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := decodeRecord(v); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzDecodeRecord feeds decodeRecord arbitrary bytes, as a corrupted or
// foreign value in Redis would be: it must never panic, and what it accepts
// must survive another encode and decode unchanged.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, &typicalRecord))
	f.Add(appendRecord(nil, &realtimesecret.Record{Endpoint: contract.EndpointSession, ExpiresAt: time.Unix(-1, 5)}))
	f.Add(appendRecord(nil, &realtimesecret.Record{Endpoint: contract.EndpointCall, ExpiresAt: time.Unix(9, 0), CreatedAt: time.Unix(2, 3)}))
	f.Add(appendRecord(nil, &realtimesecret.Record{VirtualKeyID: "alice", Endpoint: contract.EndpointClientSecret, ExpiresAt: time.Unix(9, 0),
		PrincipalKind: "user", MaxSessions: 1, GovernanceFailOpen: true, Budget: contract.Budget{USD: 2.5, Per: time.Hour}}))
	f.Add(appendRecord(nil, &realtimesecret.Record{Endpoint: contract.EndpointCall, ExpiresAt: time.Unix(9, 0), CreatedAt: time.Unix(2, 3),
		Budget: contract.Budget{USD: 1, Per: 1}}))
	f.Add([]byte{})
	f.Add([]byte("\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00"))
	f.Add([]byte(`{"key_id":"primary","expires_at":1756310470}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		rec, err := decodeRecord(string(value))
		if err != nil {
			require.ErrorIs(t, err, ErrCorruptValue)
			return
		}
		require.LessOrEqual(t, len(rec.KeyID)+len(rec.VirtualKeyID)+len(rec.Provider)+len(rec.Model), len(value))
		again, err := decodeRecord(string(appendRecord(nil, &rec)))
		require.NoError(t, err)
		require.True(t, rec.ExpiresAt.Equal(again.ExpiresAt))
		require.True(t, rec.CreatedAt.Equal(again.CreatedAt))
		again.ExpiresAt, again.CreatedAt = rec.ExpiresAt, rec.CreatedAt
		require.Equal(t, rec, again)
	})
}

// Version 3 is written only when the record names a principal's kind or
// limits; the flags byte refuses bits it does not know.
func TestRecordVersion3(t *testing.T) {
	assert.Equal(t, valueVersion, appendRecord(nil, &typicalRecord)[0])
	rec := typicalRecord
	rec.PrincipalKind = "user"
	v3 := appendRecord(nil, &rec)
	assert.Equal(t, valueVersionPrincipal, v3[0])
	assert.Len(t, v3, 40+1+5+2, "flags, the kind, two zero limits")
	bad := append([]byte(nil), v3...)
	bad[40] = 0x80 // the flags byte
	_, err := decodeRecord(string(bad))
	require.ErrorIs(t, err, ErrCorruptValue)
	_, err = decodeRecord(string(v3[:len(v3)-1]))
	require.ErrorIs(t, err, ErrCorruptValue)
}

// A budget sets flagBudget and follows the limits: USD as its IEEE-754
// bits (8 bytes, little-endian), Per as a uvarint of milliseconds. A
// version 3 value of before budgets (no flagBudget) still reads, without
// one; a budget flagged but cut short, or not a positive finite USD, or a
// Per past what a Duration holds, is corrupt.
func TestRecordVersion3Budget(t *testing.T) {
	rec := typicalRecord
	rec.PrincipalKind = "user"
	before := appendRecord(nil, &rec) // as a node of before budgets wrote it
	got, err := decodeRecord(string(before))
	require.NoError(t, err)
	assert.Zero(t, got.Budget)
	assert.Equal(t, "user", got.PrincipalKind)
	require.Equal(t, "\x00", string(before[40:41]), "no flags")

	rec.Budget = contract.Budget{USD: 2.5, Per: time.Hour}
	v := appendRecord(nil, &rec)
	assert.Equal(t, valueVersionPrincipal, v[0])
	assert.Equal(t, string(before[:40])+"\x08"+string(before[41:])+
		"\x00\x00\x00\x00\x00\x00\x04\x40"+ // 2.5
		"\x80\xdd\xdb\x01", // 3600000 ms
		string(v))
	got, err = decodeRecord(string(v))
	require.NoError(t, err)
	assert.Equal(t, rec.Budget, got.Budget)

	// A budget only: version 3 for it alone.
	only := typicalRecord
	only.Budget = contract.Budget{USD: 1, Per: time.Minute}
	assert.Equal(t, valueVersionPrincipal, appendRecord(nil, &only)[0])
	// One that sets no limit is not written.
	for _, b := range []contract.Budget{{Per: time.Hour}, {USD: -1, Per: time.Hour}} {
		none := typicalRecord
		none.Budget = b
		assert.Equal(t, appendRecord(nil, &typicalRecord), appendRecord(nil, &none), "%+v", b)
	}

	head := string(v[:len(v)-12]) // up to the budget
	for name, value := range map[string]string{
		"flagged, no budget":   string(before[:40]) + "\x08" + string(before[41:]),
		"cut in the USD":       head + "\x00\x00\x00",
		"no Per":               head + "\x00\x00\x00\x00\x00\x00\x04\x40",
		"zero USD":             head + "\x00\x00\x00\x00\x00\x00\x00\x00" + "\x01",
		"negative USD":         head + "\x00\x00\x00\x00\x00\x00\x04\xc0" + "\x01",
		"NaN":                  head + "\x01\x00\x00\x00\x00\x00\xf8\x7f" + "\x01",
		"infinite USD":         head + "\x00\x00\x00\x00\x00\x00\xf0\x7f" + "\x01",
		"Per past a Duration":  head + "\x00\x00\x00\x00\x00\x00\x04\x40" + "\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
		"trailing after a Per": string(v) + "\x00",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeRecord(value)
			require.ErrorIs(t, err, ErrCorruptValue)
		})
	}
	// The longest Per that a Duration holds reads back.
	maxPer := head + "\x00\x00\x00\x00\x00\x00\x04\x40" + string(binary.AppendUvarint(nil, uint64(maxBudgetPerMillis)))
	got, err = decodeRecord(maxPer)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(maxBudgetPerMillis)*time.Millisecond, got.Budget.Per)
}
