package upstream

import "time"

// SetSidebandKeepalive sets how often p's sidebands ping and how long they
// wait for the pong, so that tests need not wait the production 30 s.
func SetSidebandKeepalive(p *Poster, every, within time.Duration) {
	p.sidebandPing, p.sidebandPong = every, within
}
