// Command realtimesecretd runs the realtimesecret middleware from one YAML
// file in front of an existing LLM proxy: it answers the OpenAI Realtime
// mint routes and reverse-proxies every other request to the proxy, with
// X-Realtime-* attribution headers for requests that redeem a minted
// secret.
//
//	realtimesecretd -config realtimesecretd.yaml [-listen host:port]
//	realtimesecretd -config realtimesecretd.yaml -check
//
// It stops gracefully on SIGTERM or SIGINT, and reads its config file
// again on SIGHUP, swapping it in without dropping a request or a session.
// See the README for the config reference.
//
// The binary carries a copy of the Mozilla CA roots
// (golang.org/x/crypto/x509roots/fallback), used only where the system has
// none, so it verifies the provider's TLS certificate in a FROM scratch
// container image too.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "golang.org/x/crypto/x509roots/fallback" // CA roots where the system has none (FROM scratch)

	"github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		// After the first signal starts the drain, a second one kills the
		// process the default way.
		<-ctx.Done()
		stop()
	}()
	os.Exit(sidecar.Run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}
