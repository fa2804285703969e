package fakeupstream_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/realtimesecret/realtimesecret/internal/fakeupstream"
)

// sdpSection is one m-section of an SDP, as the checker reads it.
type sdpSection struct {
	mline string            // after "m="
	attrs map[string]string // first value of each a= attribute
	all   []string          // every a= line, without "a="
}

func (s sdpSection) field(i int) string { return strings.Fields(s.mline)[i] }

// parseSDP splits sdp into its session attributes and m-sections, and
// fails unless every line is <letter>=<value> and ends in CRLF.
func parseSDP(t testing.TB, sdp string) (session map[string]string, sections []sdpSection) {
	t.Helper()
	require.True(t, strings.HasSuffix(sdp, "\r\n"), "SDP ends in CRLF")
	lines := strings.Split(strings.TrimSuffix(sdp, "\r\n"), "\r\n")
	require.Equal(t, "v=0", lines[0])
	session = map[string]string{}
	for _, l := range lines {
		require.Regexp(t, `^[a-z]=\S`, l)
		require.NotContains(t, l, "\n")
		kind, v := l[0], l[2:]
		if kind == 'm' {
			sections = append(sections, sdpSection{mline: v, attrs: map[string]string{}})
			continue
		}
		attrs := session
		if len(sections) > 0 {
			attrs = sections[len(sections)-1].attrs
		}
		if kind != 'a' {
			attrs[string(kind)+"="] = v
			continue
		}
		name, value, _ := strings.Cut(v, ":")
		if _, seen := attrs[name]; !seen {
			attrs[name] = value
		}
		if len(sections) > 0 {
			sections[len(sections)-1].all = append(sections[len(sections)-1].all, v)
		}
	}
	return session, sections
}

var (
	iceCharRE     = regexp.MustCompile(`^[A-Za-z0-9+/]+$`)
	fingerprintRE = regexp.MustCompile(`^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
)

// checkAnswer fails unless answer is a well-formed SDP answer to offer:
// each offered m-section answered in order with the same media, protocol
// and formats, mids and BUNDLE mirrored, ICE credentials of a valid length,
// a SHA-256 fingerprint, the DTLS role and direction that answer the
// offer's.
func checkAnswer(t testing.TB, offer, answer string) {
	t.Helper()
	_, offered := parseSDP(t, strings.ReplaceAll(strings.ReplaceAll(offer, "\r\n", "\n"), "\n", "\r\n"))
	session, answered := parseSDP(t, answer)
	for _, k := range []string{"o=", "s=", "t="} {
		assert.Contains(t, session, k)
	}
	require.Len(t, answered, len(offered), "one answer per offered m-section")
	var bundle []string
	for i, o := range offered {
		a := answered[i]
		assert.Equal(t, o.field(0), a.field(0), "media of section %d", i)
		assert.Equal(t, strings.Fields(o.mline)[2:], strings.Fields(a.mline)[2:], "protocol and formats of section %d", i)
		assert.Equal(t, o.attrs["mid"], a.attrs["mid"], "mid of section %d", i)
		if o.field(1) == "0" {
			assert.Equal(t, "0", a.field(1), "a rejected section stays rejected")
			continue
		}
		if mid, ok := o.attrs["mid"]; ok {
			bundle = append(bundle, mid)
		}
		ufrag, pwd := a.attrs["ice-ufrag"], a.attrs["ice-pwd"]
		assert.Regexp(t, iceCharRE, ufrag)
		assert.True(t, len(ufrag) >= 4 && len(ufrag) <= 256, "ufrag length %d", len(ufrag))
		assert.Regexp(t, iceCharRE, pwd)
		assert.True(t, len(pwd) >= 22 && len(pwd) <= 256, "pwd length %d", len(pwd))
		assert.Regexp(t, fingerprintRE, a.attrs["fingerprint"])
		wantSetup := "passive"
		if o.attrs["setup"] == "passive" {
			wantSetup = "active"
		}
		assert.Equal(t, wantSetup, a.attrs["setup"])
		if o.field(0) == "application" {
			assert.Equal(t, "webrtc-datachannel", a.field(3))
			assert.NotEmpty(t, a.attrs["sctp-port"])
			continue
		}
		want := map[string]string{"sendrecv": "sendrecv", "": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
		dir := ""
		for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if _, ok := o.attrs[d]; ok {
				dir = d
			}
		}
		_, ok := a.attrs[want[dir]]
		assert.True(t, ok, "section %d answers %q with %q: %v", i, dir, want[dir], a.all)
		for _, pt := range strings.Fields(o.mline)[3:] {
			if rtpmap, ok := rtpmapOf(o, pt); ok {
				got, _ := rtpmapOf(a, pt)
				assert.Equal(t, rtpmap, got, "rtpmap of payload type %s", pt)
			}
		}
	}
	if len(bundle) > 0 {
		assert.Equal(t, "BUNDLE "+strings.Join(bundle, " "), session["group"])
	} else {
		assert.NotContains(t, session, "group")
	}
}

func rtpmapOf(s sdpSection, pt string) (string, bool) {
	for _, a := range s.all {
		if v, ok := strings.CutPrefix(a, "rtpmap:"+pt+" "); ok {
			return v, true
		}
	}
	return "", false
}

func TestAnswerSDP(t *testing.T) {
	const audioOnly = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\na=group:BUNDLE a\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 0 8\nc=IN IP4 0.0.0.0\na=mid:a\na=setup:passive\na=sendonly\n" +
		"a=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n"
	const rejected = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 1\r\n" +
		"m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n" +
		"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=setup:actpass\r\na=sctp-port:5000\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
	const noMids = "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n"
	for _, tc := range []struct{ name, offer string }{
		{name: "browser offer", offer: fakeupstream.SampleOffer},
		{name: "LF line ends, passive offerer, sendonly", offer: audioOnly},
		{name: "rejected section, recvonly", offer: rejected},
		{name: "no mids", offer: noMids},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer, err := fakeupstream.AnswerSDP(tc.offer)
			require.NoError(t, err)
			checkAnswer(t, tc.offer, answer)
		})
	}

	a1, err := fakeupstream.AnswerSDP(fakeupstream.SampleOffer)
	require.NoError(t, err)
	a2, err := fakeupstream.AnswerSDP(fakeupstream.SampleOffer)
	require.NoError(t, err)
	_, s1 := parseSDP(t, a1)
	_, s2 := parseSDP(t, a2)
	assert.NotEqual(t, s1[0].attrs["ice-ufrag"], s2[0].attrs["ice-ufrag"], "fresh credentials per answer")
	assert.NotEqual(t, s1[0].attrs["fingerprint"], s2[0].attrs["fingerprint"])
	assert.Equal(t, s1[0].attrs["ice-ufrag"], s1[1].attrs["ice-ufrag"], "one transport for the bundle")
}

func TestAnswerSDPRejects(t *testing.T) {
	for _, tc := range []struct{ name, offer string }{
		{name: "empty", offer: ""},
		{name: "not v=0", offer: "v=1\r\nm=audio 9 RTP/AVP 0\r\n"},
		{name: "v=0 not alone", offer: "v=00\r\nm=audio 9 RTP/AVP 0\r\n"},
		{name: "no media", offer: "v=0\r\ns=-\r\nt=0 0\r\n"},
		{name: "short m= line", offer: "v=0\r\nm=audio 9 RTP/AVP\r\n"},
		{name: "bad port", offer: "v=0\r\nm=audio nine RTP/AVP 0\r\n"},
		{name: "not a line", offer: "v=0\r\nhello\r\nm=audio 9 RTP/AVP 0\r\n"},
		{name: "JSON", offer: `{"sdp":"v=0"}`},
		{name: "too many sections", offer: "v=0\r\n" + strings.Repeat("m=audio 9 RTP/AVP 0\r\n", 65)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fakeupstream.AnswerSDP(tc.offer)
			assert.Error(t, err)
		})
	}
}
