package fakeupstream

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
)

// The fake answers a WebRTC offer with an SDP answer a browser accepts in
// setRemoteDescription: the same m-sections in the same order, mids and
// BUNDLE mirrored, its own ICE credentials and DTLS fingerprint. It carries
// no candidates, so ICE never connects: tests that need media use a real
// answerer.

// Limits on an offer, far above what a browser sends, so a hostile body
// cannot make the fake build a huge answer.
const (
	maxOfferSections = 64
	maxOfferFormats  = 128
)

var (
	errSDPStart    = errors.New("the SDP must start with v=0")
	errSDPNoMedia  = errors.New("the SDP has no m= line")
	errSDPMedia    = errors.New("the SDP has a malformed m= line")
	errSDPTooLarge = errors.New("the SDP has too many m= lines or formats")
	errSDPLine     = errors.New("the SDP has a line that is not <type>=<value>")
)

// offerSection is what an answer needs of one m-section of an offer.
type offerSection struct {
	media    string   // audio, video, application
	rejected bool     // port 0
	proto    string   // UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP ...
	formats  []string // payload types, or webrtc-datachannel
	mid      string
	dir      string   // sendrecv, sendonly, recvonly, inactive; "" = sendrecv
	setup    string   // actpass, active, passive
	rtcpMux  bool     // a=rtcp-mux
	codec    []string // a=rtpmap/fmtp/rtcp-fb lines, "a=" included, in order
	sctpPort string
	maxMsg   string
}

// parseOffer reads the m-sections of an SDP offer. It checks the structure
// an answer depends on, not every rule of RFC 8866.
func parseOffer(sdp string) ([]offerSection, error) {
	if !strings.HasPrefix(sdp, "v=0\n") && !strings.HasPrefix(sdp, "v=0\r\n") {
		return nil, errSDPStart
	}
	var out []offerSection
	for line := range strings.SplitSeq(sdp, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, errSDPLine
		}
		if line[0] == 'm' {
			sec, err := parseMediaLine(line[2:])
			if err != nil {
				return nil, err
			}
			if len(out) == maxOfferSections {
				return nil, errSDPTooLarge
			}
			out = append(out, sec)
			continue
		}
		if line[0] != 'a' || len(out) == 0 {
			continue // session-level lines say nothing the answer needs
		}
		readAttribute(&out[len(out)-1], line)
	}
	if len(out) == 0 {
		return nil, errSDPNoMedia
	}
	return out, nil
}

// parseMediaLine reads "<media> <port> <proto> <fmt> ...".
func parseMediaLine(v string) (offerSection, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
		return offerSection{}, errSDPMedia
	}
	port, _, _ := strings.Cut(f[1], "/") // "<port>/<number of ports>"
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return offerSection{}, errSDPMedia
	}
	if len(f)-3 > maxOfferFormats {
		return offerSection{}, errSDPTooLarge
	}
	return offerSection{media: f[0], rejected: n == 0, proto: f[2], formats: f[3:]}, nil
}

// readAttribute records the a= line of sec that the answer mirrors.
func readAttribute(sec *offerSection, line string) {
	name, value, _ := strings.Cut(line[2:], ":")
	switch name {
	case "mid":
		sec.mid = value
	case "sendrecv", "sendonly", "recvonly", "inactive":
		sec.dir = name
	case "setup":
		sec.setup = value
	case "rtcp-mux":
		sec.rtcpMux = true
	case "sctp-port":
		sec.sctpPort = value
	case "max-message-size":
		sec.maxMsg = value
	case "rtpmap", "fmtp", "rtcp-fb":
		sec.codec = append(sec.codec, line)
	}
}

// answerDirection is the direction that answers an offered one (RFC 3264
// 6.1): what the offerer sends, the answerer receives.
func answerDirection(offered string) string {
	switch offered {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// answerSetup is the DTLS role that answers an offered one (RFC 5763): the
// answerer is passive unless the offerer insists on being passive itself.
func answerSetup(offered string) string {
	if offered == "passive" {
		return "active"
	}
	return "passive"
}

// answerSDP returns an SDP answer to offer, or the reason offer cannot be
// answered.
func answerSDP(offer string) (string, error) {
	secs, err := parseOffer(offer)
	if err != nil {
		return "", err
	}
	ufrag, pwd, fp := iceCredentials()
	var b strings.Builder
	b.Grow(512 + 256*len(secs))
	var sid [8]byte
	randomBytes(sid[:])
	b.WriteString("v=0\r\no=- ")
	b.WriteString(strconv.FormatUint(binary.BigEndian.Uint64(sid[:])>>2, 10))
	b.WriteString(" 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	var bundle []string
	for _, s := range secs {
		if !s.rejected && s.mid != "" {
			bundle = append(bundle, s.mid)
		}
	}
	if len(bundle) > 0 {
		b.WriteString("a=group:BUNDLE " + strings.Join(bundle, " ") + "\r\n")
	}
	for _, s := range secs {
		writeSection(&b, &s, ufrag, pwd, fp)
	}
	return b.String(), nil
}

// writeSection writes the answer to one offered m-section.
func writeSection(b *strings.Builder, s *offerSection, ufrag, pwd, fp string) {
	port := "9"
	if s.rejected {
		port = "0"
	}
	b.WriteString("m=" + s.media + " " + port + " " + s.proto + " " + strings.Join(s.formats, " ") + "\r\n")
	b.WriteString("c=IN IP4 0.0.0.0\r\n")
	if s.mid != "" && s.rejected {
		b.WriteString("a=mid:" + s.mid + "\r\n")
	}
	if s.rejected {
		return
	}
	b.WriteString("a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\n")
	b.WriteString("a=fingerprint:sha-256 " + fp + "\r\n")
	b.WriteString("a=setup:" + answerSetup(s.setup) + "\r\n")
	if s.mid != "" {
		b.WriteString("a=mid:" + s.mid + "\r\n")
	}
	if s.media == "application" {
		port := s.sctpPort
		if port == "" {
			port = "5000"
		}
		b.WriteString("a=sctp-port:" + port + "\r\n")
		msg := s.maxMsg
		if msg == "" {
			msg = "262144"
		}
		b.WriteString("a=max-message-size:" + msg + "\r\n")
		return
	}
	b.WriteString("a=" + answerDirection(s.dir) + "\r\n")
	if s.rtcpMux {
		b.WriteString("a=rtcp-mux\r\n")
	}
	for _, l := range s.codec {
		b.WriteString(l + "\r\n")
	}
}

// iceChars are the characters of an ICE ufrag or password (RFC 8839
// ice-char, without '+' and '/', which some parsers mishandle).
const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// iceCredentials returns a fresh ufrag (16 characters), password (32) and
// DTLS certificate fingerprint (SHA-256 form, 32 bytes as colon-separated
// upper-case hex).
func iceCredentials() (ufrag, pwd, fingerprint string) {
	var raw [16 + 32 + 32]byte
	randomBytes(raw[:])
	chars := func(p []byte) string {
		out := make([]byte, len(p))
		for i, c := range p {
			out[i] = iceChars[int(c)%len(iceChars)]
		}
		return string(out)
	}
	const upperHex = "0123456789ABCDEF"
	fp := make([]byte, 0, 32*3)
	for i, c := range raw[48:] {
		if i > 0 {
			fp = append(fp, ':')
		}
		fp = append(fp, upperHex[c>>4], upperHex[c&0xf])
	}
	return chars(raw[:16]), chars(raw[16:48]), string(fp)
}
