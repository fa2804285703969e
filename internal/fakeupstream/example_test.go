package fakeupstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

func ExampleNew() {
	up := fakeupstream.New(fakeupstream.Options{Keys: []string{"sk-test"}})
	srv := httptest.NewServer(up) // point the code under test at srv.URL
	defer srv.Close()

	// Here the test itself mints, to show the answer.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+fakeupstream.PathClientSecrets,
		strings.NewReader(`{"session":{"type":"realtime","model":"gpt-realtime"}}`))
	req.Header.Set("Authorization", "Bearer sk-test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var out struct {
		Value   string `json:"value"`
		Session struct {
			Model string `json:"model"`
		} `json:"session"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)

	last, _ := up.Last()
	fmt.Println(resp.StatusCode, strings.HasPrefix(out.Value, "ek_"), out.Session.Model)
	fmt.Println(up.Count(), last.Path, last.Header.Get("Authorization"))
	// Output:
	// 200 true gpt-realtime
	// 1 /v1/realtime/client_secrets Bearer sk-test
}

func ExampleOptions_fault() {
	up := fakeupstream.New(fakeupstream.Options{
		// Every mint fails like an overloaded upstream.
		Fault: func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != fakeupstream.PathClientSecrets {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}`))
			return true
		},
	})
	rec := httptest.NewRecorder()
	up.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, fakeupstream.PathClientSecrets, strings.NewReader(`{}`)))
	fmt.Println(rec.Code)
	// Output: 503
}
