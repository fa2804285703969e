package faultupstream

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// Refused returns the URL of a loopback address nothing listens on: it was
// listened on and closed, so a dial is refused.
func Refused(t testing.TB) string {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
