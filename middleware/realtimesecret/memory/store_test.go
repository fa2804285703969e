package memory_test

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/memory"
)

// requireRoundTrip asserts that Get gives back exactly the record Put
// stored: assert.Equal compares time.Time field by field, so the expiry's
// zone and monotonic reading must come back too, not just the instant.
func requireRoundTrip(t *testing.T, s *memory.Store, token string, want realtimesecret.Record) {
	t.Helper()
	got, ok, err := s.Get(context.Background(), contract.HashToken(token))
	require.NoError(t, err)
	require.True(t, ok, "record of %s not found", token)
	assert.Equal(t, want, got, "record of %s", token)
}

// The store keeps each field of a Record in its own place (shared or
// inline), so a field added to Record must be added there too: this fails
// until the new field is set below, where the round trip then covers it.
func TestMemoryStoreKeepsEveryRecordField(t *testing.T) {
	rec := realtimesecret.Record{
		KeyID: "k", VirtualKeyID: "vk", Provider: "p", Model: "m",
		Endpoint: contract.EndpointCall, ExpiresAt: time.Unix(time.Now().Add(time.Hour).Unix(), 0),
		CreatedAt:     time.Unix(time.Now().Unix(), 0),
		PrincipalKind: "user", MaxSessions: 2, MaxSession: time.Minute, GovernanceFailOpen: true, SingleUse: true,
		Budget: contract.Budget{USD: 2.5, Per: time.Hour},
	}
	v := reflect.ValueOf(rec)
	for i := range v.NumField() {
		require.False(t, v.Field(i).IsZero(), "Record.%s is not set in this test", v.Type().Field(i).Name)
	}
	s := memory.NewStore()
	require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_every_field"), rec))
	requireRoundTrip(t, s, "ek_every_field", rec)
	// A token's record (no CreatedAt) is kept as an entry.
	rec.CreatedAt = time.Time{}
	require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_token_fields"), rec))
	requireRoundTrip(t, s, "ek_token_fields", rec)
}

func TestMemoryStoreRoundTripsExactly(t *testing.T) {
	exp := time.Unix(time.Now().Add(time.Hour).Unix(), 0) // as the upstream gives it
	base := realtimesecret.Record{
		KeyID: "primary", VirtualKeyID: "web", Provider: "openai",
		Model: "gpt-realtime", Endpoint: contract.EndpointClientSecret, ExpiresAt: exp,
	}
	with := func(f func(*realtimesecret.Record)) realtimesecret.Record {
		rec := base
		f(&rec)
		return rec
	}
	tests := []struct {
		name string
		rec  realtimesecret.Record
	}{
		{"typical", base},
		{"open minting, provider default model", with(func(r *realtimesecret.Record) { r.VirtualKeyID, r.Model = "", "" })},
		{"UTC expiry", with(func(r *realtimesecret.Record) { r.ExpiresAt = exp.UTC() })},
		{"fixed-zone expiry", with(func(r *realtimesecret.Record) { r.ExpiresAt = exp.In(time.FixedZone("X", 5*3600+1800)) })},
		{"sub-second expiry", with(func(r *realtimesecret.Record) { r.ExpiresAt = exp.Add(123456789) })},
		{"monotonic expiry", with(func(r *realtimesecret.Record) { r.ExpiresAt = time.Now().Add(time.Hour) })},
		{"expiry in 2250", with(func(r *realtimesecret.Record) { r.ExpiresAt = time.Date(2250, 1, 2, 3, 4, 5, 6, time.UTC) })},
		{"non-ASCII and long fields", with(func(r *realtimesecret.Record) {
			r.KeyID, r.VirtualKeyID, r.Model = "clé-ü", string(make([]byte, 300)), "ft:gpt-4o:org/ünïcode"
			r.Endpoint = contract.EndpointTranslation
		})},
	}
	s := memory.NewStore()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_"+tc.name), tc.rec))
			requireRoundTrip(t, s, "ek_"+tc.name, tc.rec)
		})
	}
}

// TestMemoryStoreRoundTripsDistinctCallers stores what an Authorizer with a
// principal per user leaves: a different VirtualKeyID in every record,
// alongside records that are equal, and reads each back exactly.
func TestMemoryStoreRoundTripsDistinctCallers(t *testing.T) {
	const n = 2000
	s := memory.NewStore()
	ctx := context.Background()
	exp := time.Unix(time.Now().Add(time.Hour).Unix(), 0)
	want := make([]realtimesecret.Record, n)
	for i := range want {
		want[i] = realtimesecret.Record{
			KeyID:        []string{"primary", "secondary"}[i%2],
			VirtualKeyID: "user-" + strconv.Itoa(i),
			Provider:     "openai",
			Model:        []string{"gpt-realtime", "gpt-realtime-mini", ""}[i%3],
			Endpoint:     contract.Endpoints()[i%4],
			ExpiresAt:    exp.Add(time.Duration(i%7) * time.Second),
		}
		if i%5 == 0 { // every fifth is minted again by the caller before it
			want[i] = want[max(i-1, 0)]
		}
		require.NoError(t, s.Put(ctx, contract.HashToken("ek_"+strconv.Itoa(i)), want[i]))
	}
	require.Equal(t, n, s.Len())
	for i := range want {
		requireRoundTrip(t, s, "ek_"+strconv.Itoa(i), want[i])
	}
}

// TestMemoryStoreKeepsNearlyEqualRecordsApart stores records one after
// another that share caller, model and expiry but differ in one other field,
// so no record is taken for the one stored before it.
func TestMemoryStoreKeepsNearlyEqualRecordsApart(t *testing.T) {
	exp := time.Unix(time.Now().Add(time.Hour).Unix(), 0)
	base := realtimesecret.Record{
		KeyID: "primary", VirtualKeyID: "web", Provider: "openai",
		Model: "gpt-realtime", Endpoint: contract.EndpointClientSecret, ExpiresAt: exp,
	}
	recs := []realtimesecret.Record{base, base, base, base, base, base, base}
	recs[1].KeyID = "secondary"
	recs[2].Provider = "azure"
	recs[3].Endpoint = contract.EndpointSession
	recs[4].ExpiresAt = exp.UTC()
	recs[5].ExpiresAt = exp.Add(time.Nanosecond)
	recs[6].VirtualKeyID = "mobile"
	s := memory.NewStore()
	for i, rec := range recs {
		require.NoError(t, s.Put(context.Background(), contract.HashToken("ek_"+strconv.Itoa(i)), rec))
	}
	for i, rec := range recs {
		requireRoundTrip(t, s, "ek_"+strconv.Itoa(i), rec)
	}
}

func TestMemoryStoreDropsExpiredAndMissing(t *testing.T) {
	s := memory.NewStore()
	ctx := context.Background()
	rec := realtimesecret.Record{KeyID: "primary", Provider: "openai", ExpiresAt: time.Unix(time.Now().Add(-time.Second).Unix(), 0)}
	require.NoError(t, s.Put(ctx, contract.HashToken("ek_expired"), rec))
	assert.Zero(t, s.Len())
	got, ok, err := s.Get(ctx, contract.HashToken("ek_expired"))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Zero(t, got)
}

// TestMemoryStoreConcurrentPutGet runs Puts and Gets of shared and distinct
// records at once, for the race detector.
func TestMemoryStoreConcurrentPutGet(t *testing.T) {
	const workers, perWorker = 4, 300
	s := memory.NewStore()
	exp := time.Unix(time.Now().Add(time.Hour).Unix(), 0)
	recordOf := func(w, i int) realtimesecret.Record {
		vk := "web" // shared by all workers
		if i%2 == 1 {
			vk = "user-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
		}
		return realtimesecret.Record{
			KeyID: "primary", VirtualKeyID: vk, Provider: "openai", Model: "gpt-realtime",
			Endpoint: contract.EndpointClientSecret, ExpiresAt: exp.Add(time.Duration(i%3) * time.Second),
		}
	}
	tokenOf := func(w, i int) string { return "ek_" + strconv.Itoa(w) + "_" + strconv.Itoa(i) }
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				assert.NoError(t, s.Put(context.Background(), contract.HashToken(tokenOf(w, i)), recordOf(w, i)))
				got, ok, err := s.Get(context.Background(), contract.HashToken(tokenOf(w, i/2)))
				assert.NoError(t, err)
				if assert.True(t, ok) {
					assert.Equal(t, recordOf(w, i/2), got)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, workers*perWorker, s.Len())
	for w := range workers {
		for i := range perWorker {
			requireRoundTrip(t, s, tokenOf(w, i), recordOf(w, i))
		}
	}
}
