package azure_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAzure imitates an Azure OpenAI resource's realtime mint endpoints the
// way the service answers them: the v1 GA paths without an api-version,
// the legacy preview sessions path only with one, api-key or Entra bearer
// authentication, and deployments (not models) in session.model / model.
// Its errors are Azure's {"error":{"code","message"}} bodies.
type fakeAzure struct {
	keys        []string // accepted api-key values
	tokens      []string // accepted bearer tokens
	deployments []string // deployed names

	mu   sync.Mutex
	seen []azureRequest
}

// azureRequest is what the fake received.
type azureRequest struct {
	Path       string
	APIVersion string
	HasQuery   bool
	APIKey     string // api-key header
	Auth       string // Authorization header
	Header     http.Header
	Body       []byte
	Deployment string // session.model (GA), its transcription model (GA transcription) or model (preview)
}

const (
	pathGA          = "/openai/v1/realtime/client_secrets"
	pathTranslation = "/openai/v1/realtime/translations/client_secrets"
	pathPreview     = "/openai/realtimeapi/sessions"
)

func newFakeAzure(t testing.TB, f *fakeAzure) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeAzure) requests() []azureRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

func (f *fakeAzure) last(t testing.TB) azureRequest {
	t.Helper()
	seen := f.requests()
	if len(seen) == 0 {
		t.Fatal("fake Azure received no request")
	}
	return seen[len(seen)-1]
}

func azureErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Apim-Request-Id", "apim-1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	rec := azureRequest{
		Path: r.URL.Path, APIVersion: q.Get("api-version"), HasQuery: r.URL.RawQuery != "",
		APIKey: r.Header.Get("Api-Key"), Auth: r.Header.Get("Authorization"),
		Header: r.Header.Clone(), Body: body,
	}
	var req struct {
		Model   string `json:"model"`
		Session struct {
			Model string `json:"model"`
			Type  string `json:"type"`
			Audio struct {
				Input struct {
					Transcription struct {
						Model string `json:"model"`
					} `json:"transcription"`
				} `json:"input"`
			} `json:"audio"`
		} `json:"session"`
	}
	_ = json.Unmarshal(body, &req)
	preview := r.URL.Path == pathPreview
	switch {
	case preview:
		rec.Deployment = req.Model
	case req.Session.Type == "transcription": // a transcription deployment
		rec.Deployment = req.Session.Audio.Input.Transcription.Model
	default:
		rec.Deployment = req.Session.Model
	}
	f.mu.Lock()
	f.seen = append(f.seen, rec)
	f.mu.Unlock()

	switch {
	case r.Method != http.MethodPost:
		azureErr(w, http.StatusMethodNotAllowed, "405", "Method not allowed")
		return
	case r.URL.Path != pathGA && r.URL.Path != pathTranslation && r.URL.Path != pathPreview,
		preview && rec.APIVersion == "":
		azureErr(w, http.StatusNotFound, "404", "Resource not found")
		return
	case !preview && rec.HasQuery:
		azureErr(w, http.StatusBadRequest, "BadRequest", "API version not supported")
		return
	}
	bearer, isBearer := strings.CutPrefix(rec.Auth, "Bearer ")
	if !(rec.APIKey != "" && slices.Contains(f.keys, rec.APIKey)) && !(isBearer && slices.Contains(f.tokens, bearer)) {
		azureErr(w, http.StatusUnauthorized, "401", "Access denied due to invalid subscription key or wrong API endpoint. "+
			"Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
		return
	}
	if !slices.Contains(f.deployments, rec.Deployment) {
		azureErr(w, http.StatusNotFound, "DeploymentNotFound",
			"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return
	}

	var raw [16]byte
	_, _ = rand.Read(raw[:])
	secret := "ek_" + hex.EncodeToString(raw[:])
	exp := time.Now().Add(10 * time.Minute).Unix()
	var reply any
	switch {
	case preview:
		reply = map[string]any{"id": "sess_1", "object": "realtime.session", "model": rec.Deployment,
			"client_secret": map[string]any{"value": secret, "expires_at": exp}}
	default:
		typ := req.Session.Type
		if r.URL.Path == pathTranslation {
			typ = "translation"
		}
		reply = map[string]any{"value": secret, "expires_at": exp,
			"session": map[string]any{"type": typ, "model": rec.Deployment}}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Apim-Request-Id", "apim-1")
	w.Header().Set("X-Ms-Region", "Sweden Central")
	_ = json.NewEncoder(w).Encode(reply)
}
