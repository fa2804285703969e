package openai_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/adapters/openai"
	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret"
	"github.com/realtimesecret/realtimesecret/middleware/realtimesecret/contract"
)

// settableClock is a clock the test moves by hand; the middleware and the
// fake upstream share it, so expiry is decided without sleeping.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *settableClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// keyTap sits in front of the fake upstream and remembers which upstream
// key minted which secret, so attribution can be checked against what
// really happened upstream.
type keyTap struct {
	next http.Handler
	mu   sync.Mutex
	keys map[string]string // secret -> Authorization header
}

func (k *keyTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	k.next.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		var v struct {
			Value        string `json:"value"`
			ClientSecret *struct {
				Value string `json:"value"`
			} `json:"client_secret"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &v) == nil {
			if v.ClientSecret != nil {
				v.Value = v.ClientSecret.Value
			}
			k.mu.Lock()
			k.keys[v.Value] = r.Header.Get("Authorization")
			k.mu.Unlock()
		}
	}
	for name, values := range rec.Header() {
		w.Header()[name] = values
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (k *keyTap) keyOf(secret string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[secret]
}

// soakTTLs are the lifetimes asked for, in seconds; 0 asks for none (the
// upstream's 600 s default).
var soakTTLs = []int64{300, 0, 7200}

// soakMint is one minted secret and what its redemption must show.
type soakMint struct {
	token     string
	expiresAt int64
	want      attribution
}

// TestSoak mints 20,000 secrets (2,000 with -short) from 64 concurrent
// clients through the middleware, this adapter and the fake upstream over
// loopback HTTP, on all four endpoints, with four virtual keys and two
// weighted upstream keys. Every mint must succeed, and every secret must be
// attributed on redemption, to the virtual key that minted it and the
// upstream key that really minted it, until its expiry and not from then on.
func TestSoak(t *testing.T) {
	total, clients := 20000, 64
	if testing.Short() {
		total = 2000
	}
	verifyNoLeaks(t)

	// The clock starts a day ahead: the memory store's own sweeping goes by
	// the real clock, and must not drop a record before the fake one says.
	t0 := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	clock := &settableClock{now: t0}
	const keyA, keyB = "sk-soak-a-SECRET-1111", "sk-soak-b-SECRET-2222"
	fake := fakeupstream.New(fakeupstream.Options{Keys: []string{keyA, keyB}, Now: clock.Now, MaxRequests: -1})
	tap := &keyTap{next: fake, keys: make(map[string]string, total)}
	up := newUpstream(t, tap.ServeHTTP)

	vks := make([]realtimesecret.VirtualKey, 4)
	for i := range vks {
		vks[i] = realtimesecret.VirtualKey{ID: "vk" + strconv.Itoa(i), Value: realtimesecret.Secret(fmt.Sprintf("vk-soak-%d-SECRET", i))}
	}
	s := newStack(t, stackConfig{
		adapter: openai.Config{BaseURL: up.srv.URL},
		tweak: func(cfg *realtimesecret.Config) {
			cfg.Providers[0].Keys = []realtimesecret.Key{
				{ID: "a", Value: keyA, Weight: 1},
				{ID: "b", Value: keyB, Weight: 3, Aliases: map[string]string{"realtime": "gpt-realtime"}},
				{ID: "off", Value: "sk-soak-disabled", Disabled: true},
			}
			cfg.VirtualKeys = vks
			cfg.Now = clock.Now
			cfg.OnMint = nil
		},
	})
	keyIDs := map[string]string{"Bearer " + keyA: "a", "Bearer " + keyB: "b"}

	// Mint.
	mints := make([]soakMint, total)
	var failures errorList
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				m, err := soakMintOne(s, i, vks[i%len(vks)], t0)
				if err == nil {
					want := keyIDs[tap.keyOf(m.token)]
					if want == "" {
						err = fmt.Errorf("mint %d: no upstream key minted %.10s", i, m.token)
					}
					m.want.KeyID = want
				}
				failures.add(err)
				mints[i] = m
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	failures.require(t, "minting")
	assert.Equal(t, total, fake.Count(), "one upstream call per mint")

	// Redeem at each expiry boundary: attributed one second before, not at.
	var perKey [2]atomic.Int64
	for _, ttl := range soakTTLs {
		expiry := t0.Unix() + effectiveTTL(ttl)
		for _, phase := range []struct {
			at       int64
			attested bool
		}{{expiry - 1, true}, {expiry, false}} {
			clock.Set(time.Unix(phase.at, 0))
			soakRedeemAll(t, s, clients, mints, func(m *soakMint) (bool, bool) {
				switch {
				case m.expiresAt == expiry:
					return true, phase.attested
				case m.expiresAt > expiry:
					return phase.attested, true // later ones: checked once, still attributed
				}
				return false, false
			}, &failures)
			failures.require(t, fmt.Sprintf("redeeming at expiry(%ds)%+d", effectiveTTL(ttl), phase.at-expiry))
		}
	}
	for i := range mints {
		perKey[map[string]int{"a": 0, "b": 1}[mints[i].want.KeyID]].Add(1)
	}
	t.Logf("%d mints from %d clients; upstream key a %d, b %d (weights 1:3)", total, clients, perKey[0].Load(), perKey[1].Load())
	assert.Positive(t, perKey[0].Load())
	assert.Greater(t, perKey[1].Load(), perKey[0].Load())

	logs := s.logs.String()
	assert.NotContains(t, logs, "ek_", "a log line holds a minted secret")
	assertNoSecret(t, "a log line", logs, keyA, keyB, "vk-soak-")
}

func effectiveTTL(ttl int64) int64 {
	if ttl == 0 {
		return int64(fakeupstream.DefaultTTL / time.Second)
	}
	return ttl
}

// soakMintOne mints secret i: endpoint, lifetime and model vary with i.
func soakMintOne(s *stack, i int, vk realtimesecret.VirtualKey, t0 time.Time) (soakMint, error) {
	ep := contract.Endpoints()[i%4]
	ttl := soakTTLs[(i/4)%len(soakTTLs)]
	expiry := func(path string) string { // a JSON member, or nothing for the default
		if ttl == 0 {
			return ""
		}
		obj := `{"anchor":"created_at","seconds":` + strconv.FormatInt(ttl, 10) + `}`
		parts := strings.Split(path, ".")
		for j := len(parts) - 1; j > 0; j-- {
			obj = `{"` + parts[j] + `":` + obj + `}`
		}
		return `"` + parts[0] + `":` + obj + `,`
	}
	model, sent := "openai/gpt-realtime", "gpt-realtime"
	if i%7 == 0 {
		model = "openai/realtime" // an alias of key b only resolves when b is picked
		sent = ""
	}
	var body string
	switch ep {
	case contract.EndpointClientSecret:
		body = `{` + expiry("expires_after") + `"session":{"type":"realtime","model":"` + model + `"}}`
	case contract.EndpointTranslation:
		body = `{` + expiry("expires_after") + `"session":{"model":"` + model + `"}}`
	case contract.EndpointSession:
		body = `{` + expiry("client_secret.expires_after") + `"model":"` + model + `"}`
	default:
		body = `{` + expiry("client_secret.expires_at") + `"input_audio_transcription":{"model":"` + model + `"}}`
	}
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+ep.Path(), strings.NewReader(body))
	if err != nil {
		return soakMint{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+vk.Value.Reveal())
	resp, err := s.client.Do(req)
	if err != nil {
		return soakMint{}, fmt.Errorf("mint %d: %w", i, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return soakMint{}, fmt.Errorf("mint %d %s: %w", i, ep, err)
	}
	if resp.StatusCode != http.StatusOK {
		return soakMint{}, fmt.Errorf("mint %d %s: status %d %s", i, ep, resp.StatusCode, b)
	}
	var v struct {
		Value        string `json:"value"`
		ExpiresAt    int64  `json:"expires_at"`
		ClientSecret *struct {
			Value     string `json:"value"`
			ExpiresAt int64  `json:"expires_at"`
		} `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return soakMint{}, fmt.Errorf("mint %d: %w: %s", i, err, b)
	}
	if v.ClientSecret != nil {
		v.Value, v.ExpiresAt = v.ClientSecret.Value, v.ClientSecret.ExpiresAt
	}
	if want := t0.Unix() + effectiveTTL(ttl); v.ExpiresAt != want {
		return soakMint{}, fmt.Errorf("mint %d: expires_at %d, want %d", i, v.ExpiresAt, want)
	}
	m := soakMint{token: v.Value, expiresAt: v.ExpiresAt, want: attribution{
		Found: true, VirtualKeyID: vk.ID, Provider: "openai", Model: sent,
		Endpoint: ep.String(), ExpiresAt: v.ExpiresAt, Auth: "Bearer " + v.Value,
	}}
	return m, nil
}

// soakRedeemAll redeems, from clients goroutines, every mint for which
// check returns redeem=true, and records an error for each whose
// attribution is not as wantFound says.
func soakRedeemAll(t *testing.T, s *stack, clients int, mints []soakMint, check func(*soakMint) (redeem, wantFound bool), failures *errorList) {
	t.Helper()
	var wg sync.WaitGroup
	jobs := make(chan *soakMint)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				_, wantFound := check(m)
				failures.add(soakRedeemOne(s, m, wantFound))
			}
		}()
	}
	for i := range mints {
		if redeem, _ := check(&mints[i]); redeem {
			jobs <- &mints[i]
		}
	}
	close(jobs)
	wg.Wait()
}

func soakRedeemOne(s *stack, m *soakMint, wantFound bool) error {
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/v1/realtime?model=gpt-realtime", http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got attribution
	if resp.StatusCode != nextStatus {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("redeem %.10s...: status %d %s", m.token, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return err
	}
	want := attribution{Auth: m.want.Auth}
	if wantFound {
		want = m.want
		if want.Model == "" { // "realtime": the alias target when key b minted it
			want.Model = map[string]string{"a": "realtime", "b": "gpt-realtime"}[want.KeyID]
		}
	}
	if got != want {
		return fmt.Errorf("redeem %.10s...: attribution %+v, want %+v", m.token, got, want)
	}
	return nil
}

// errorList collects errors from many goroutines.
type errorList struct {
	mu   sync.Mutex
	n    int
	errs []error
}

func (l *errorList) add(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.errs) < 5 {
		l.errs = append(l.errs, err)
	}
}

// require fails the test now if any error was added, showing the first few.
func (l *errorList) require(t *testing.T, what string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Zero(t, l.n, "%s: %d errors, first: %v", what, l.n, errors.Join(l.errs...))
}
