#!/usr/bin/env bash
# loadtest.sh — the sidecar's load figures (README "Performance"), measured
# on the shared A/B harness: the same load sent to a fake OpenAI upstream
# directly and through realtimesecretd in front of it, alternating rounds.
#
# It builds realtimesecretd and the harness's fake upstream, starts both on
# free loopback ports, runs the harness (peerbench run.sh: saturation with
# wrk, fixed rate with vegeta), then measures the sidecar's RSS growth per
# stored token in fresh sidecars, prints every figure against its target and
# stops what it started. Nothing but 127.0.0.1 is ever a target.
#
# Usage: scripts/loadtest.sh        (make loadtest; tools: make loadtest-tools)
#
# Environment (defaults in brackets):
#   PEERBENCH_DIR [../shared/bench beside the repository]  the harness: run.sh,
#                 mint.lua, fakeupstream/ (CI lays shared/ there)
#   ROUNDS [3]    A/B rounds per mode; MODES ["sat rate"], RATE [1000],
#                 DURATION [10s], RATE_DURATION [10s], QUIET_WAIT [120] and
#                 the harness's other settings pass through to run.sh
#   TOKEN_TTL [60s]      lifetime of the fake upstream's secrets, so the store
#                        reaches a steady state during the A/B rounds
#   FLOOR [1]            also run the sidecar against internal/floorproxy, a
#                        bare httputil.ReverseProxy to the same upstream (0: skip)
#   MEM_ROUNDS [ROUNDS]  fresh sidecars for the memory figure
#   MEM_DURATION [20s]   wrk load that fills each of them (shorter than TOKEN_TTL)
#   OUT_DIR [mktemp]     binaries, logs and raw harness output stay there
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERBENCH_DIR=${PEERBENCH_DIR:-$ROOT/../shared/bench}
export ROUNDS=${ROUNDS:-3}
TOKEN_TTL=${TOKEN_TTL:-60s}
MEM_ROUNDS=${MEM_ROUNDS:-$ROUNDS}
MEM_DURATION=${MEM_DURATION:-20s}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/realtimesecret-loadtest.XXXXXX)}
VK=vk-loadtest-not-secret # testdata/sidecar.loadtest.yaml's published value
BODY='{"session":{"type":"realtime","model":"openai/gpt-realtime"}}'

die() { echo "loadtest: $*" >&2; exit 1; }

if [ ! -x "$PEERBENCH_DIR/run.sh" ] || [ ! -f "$PEERBENCH_DIR/mint.lua" ] || [ ! -d "$PEERBENCH_DIR/fakeupstream" ]; then
	die "no load harness at $PEERBENCH_DIR (run.sh, mint.lua, fakeupstream/); set PEERBENCH_DIR to the shared bench directory"
fi
VEGETA=${VEGETA:-$(command -v vegeta || echo "$(go env GOPATH)/bin/vegeta")}
export VEGETA
for tool in wrk jq curl ss; do
	command -v "$tool" >/dev/null || die "$tool not found: run make loadtest-tools"
done
[ -x "$VEGETA" ] || die "vegeta not found: run make loadtest-tools"

BIN=$OUT_DIR/bin
mkdir -p "$BIN"
echo "== building realtimesecretd and the fake upstream into $BIN"
(cd "$ROOT" && go build -o "$BIN/realtimesecretd" ./cmd/realtimesecretd && go build -o "$BIN/floorproxy" ./internal/floorproxy)
# The harness is a module of its own with no dependencies; building it
# writes nothing into its (read-only) directory.
(cd "$PEERBENCH_DIR" && go build -o "$BIN/fakeupstream" ./fakeupstream)

# Processes this script started, stopped on any exit.
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port nothing listens on.
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hltn "sport = :$port")" ]; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# wait_http URL PID: poll URL until it answers 200, for at most 10 s.
wait_http() {
	for _ in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || return 1
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

UP_PORT=$(free_port)
"$BIN/fakeupstream" -addr "127.0.0.1:$UP_PORT" -ttl "$TOKEN_TTL" 2>"$OUT_DIR/fakeupstream.log" &
UP_PID=$!
pids+=("$UP_PID")
wait_http "http://127.0.0.1:$UP_PORT/healthz" "$UP_PID" || { cat "$OUT_DIR/fakeupstream.log" >&2; die "fake upstream did not start"; }

SC_PORT=$(free_port)
SC_PID=
# start_sidecar NAME: a fresh realtimesecretd on SC_PORT, logging to OUT_DIR.
start_sidecar() {
	LOADTEST_LISTEN="127.0.0.1:$SC_PORT" LOADTEST_UPSTREAM="http://127.0.0.1:$UP_PORT" \
		"$BIN/realtimesecretd" -config "$ROOT/testdata/sidecar.loadtest.yaml" >"$OUT_DIR/sidecar.$1.log" 2>&1 &
	SC_PID=$!
	pids+=("$SC_PID")
	wait_http "http://127.0.0.1:$SC_PORT/healthz" "$SC_PID" || { cat "$OUT_DIR/sidecar.$1.log" >&2; die "sidecar did not start"; }
	local status
	status=$(curl -sS -o "$OUT_DIR/mint.$1.json" -w '%{http_code}' "http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" \
		-H "Authorization: Bearer $VK" -H 'Content-Type: application/json' -d "$BODY")
	[ "$status" = 200 ] || { cat "$OUT_DIR/mint.$1.json" "$OUT_DIR/sidecar.$1.log" >&2; die "a mint through the sidecar answered $status"; }
}
stop_sidecar() {
	kill "$SC_PID" 2>/dev/null || true
	wait "$SC_PID" 2>/dev/null || true
}

rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
stored_records() {
	curl -fsS "http://127.0.0.1:$SC_PORT/metrics" | awk '$1 == "realtimesecret_stored_records" {printf "%d\n", $2}'
}
# stats: median, min and max of the numbers on stdin, as "median min max".
stats() {
	sort -g | awk '{a[NR] = $1} END {
		if (NR == 0) { print "nan nan nan"; exit }
		print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'
}

start_sidecar ab
echo "== A/B rounds: sidecar 127.0.0.1:$SC_PORT (pid $SC_PID) in front of the fake upstream 127.0.0.1:$UP_PORT (pid $UP_PID), token TTL $TOKEN_TTL"
PROXY_AUTH=$VK PROXY_BODY=$BODY PROXY_PID=$SC_PID UPSTREAM_PID=$UP_PID OUT_DIR=$OUT_DIR/ab \
	"$PEERBENCH_DIR/run.sh" "http://127.0.0.1:$SC_PORT" "http://127.0.0.1:$UP_PORT"
stop_sidecar

# The floor: the same rounds with a bare ReverseProxy hop as the other side,
# so that the sidecar's own cost is told apart from any proxy's.
FLOOR=${FLOOR:-1}
if [ "$FLOOR" != 0 ]; then
	FL_PORT=$(free_port)
	"$BIN/floorproxy" -addr "127.0.0.1:$FL_PORT" -upstream "http://127.0.0.1:$UP_PORT" 2>"$OUT_DIR/floorproxy.log" &
	FL_PID=$!
	pids+=("$FL_PID")
	wait_http "http://127.0.0.1:$FL_PORT/healthz" "$FL_PID" || { cat "$OUT_DIR/floorproxy.log" >&2; die "floor proxy did not start"; }
	start_sidecar floor
	echo
	echo "== floor rounds: sidecar 127.0.0.1:$SC_PORT (pid $SC_PID) against a bare ReverseProxy 127.0.0.1:$FL_PORT (pid $FL_PID), both in front of the fake upstream"
	PROXY_AUTH=$VK PROXY_BODY=$BODY PROXY_PID=$SC_PID UPSTREAM_PID=$FL_PID DIRECT_AUTH='' OUT_DIR=$OUT_DIR/floor \
		"$PEERBENCH_DIR/run.sh" "http://127.0.0.1:$SC_PORT" "http://127.0.0.1:$FL_PORT"
	stop_sidecar
	kill "$FL_PID" 2>/dev/null || true
	wait "$FL_PID" 2>/dev/null || true
fi

echo
echo "== memory: $MEM_ROUNDS fresh sidecars, each filled by wrk for $MEM_DURATION"
: >"$OUT_DIR/memory.tsv"
for r in $(seq 1 "$MEM_ROUNDS"); do
	start_sidecar "mem$r"
	BODY=$BODY AUTH=$VK wrk -t2 -c64 -d2s -s "$PEERBENCH_DIR/mint.lua" "http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" >/dev/null
	sleep 1
	rss0=$(rss_kib "$SC_PID") n0=$(stored_records)
	BODY=$BODY AUTH=$VK wrk -t2 -c64 -d"$MEM_DURATION" -s "$PEERBENCH_DIR/mint.lua" \
		"http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" >"$OUT_DIR/memory.$r.wrk"
	sleep 1
	rss1=$(rss_kib "$SC_PID") n1=$(stored_records)
	stop_sidecar
	awk -v r="$r" -v a="$rss0" -v b="$rss1" -v n0="$n0" -v n1="$n1" 'BEGIN {
		printf "%s\t%d\t%d\t%d\t%d\t%.1f\n", r, a, b, n0, n1, (b - a) * 1024 / (n1 > n0 ? n1 - n0 : 1) }' >>"$OUT_DIR/memory.tsv"
	tail -1 "$OUT_DIR/memory.tsv" | awk -F'\t' '{printf "  round %s: RSS %d -> %d KiB, stored records %d -> %d: %.0f bytes per token\n", $1, $2, $3, $4, $5, $6}'
done

# Every figure against its target (issue 6), median (min–max) over rounds.
res=$OUT_DIR/ab/results.tsv
pairs() { # MODE COLUMN ratio|diff [RESULTS]: proxy against direct, round by round
	awk -F'\t' -v m="$1" -v c="$2" -v op="$3" '$1 == m { v[$3, $2] = $c; r[$3] = 1 }
		END { for (k in r) if (((k, "proxy") in v) && ((k, "direct") in v))
			print (op == "ratio" ? v[k, "proxy"] / v[k, "direct"] : v[k, "proxy"] - v[k, "direct"]) }' "${4:-$res}" | stats
}
column() { awk -F'\t' -v m="$1" -v t="$2" -v c="$3" '$1 == m && $2 == t { print $c }' "${4:-$res}" | stats; }
# floor_cpu: the floor proxy's CPU per request (µs) at saturation; the
# harness counts it as the "upstream" of the floor rounds.
floor_cpu() { awk -F'\t' '$1 == "sat" && $2 == "direct" && $4 > 0 { print $10 / 100 * 1e6 / $4 }' "$OUT_DIR/floor/results.tsv" | stats; }
# figure NAME "median min max" FORMAT UNIT OP TARGET
figure() {
	read -r med lo hi <<<"$2"
	awk -v n="$1" -v med="$med" -v lo="$lo" -v hi="$hi" -v f="$3" -v u="$4" -v op="$5" -v t="$6" 'BEGIN {
		ok = (med == "nan") ? "n/a" : ((op == "≥" ? med >= t : med <= t) ? "met" : "MISSED")
		if (u != "") u = " " u
		printf "  %-44s " f "%s (" f "–" f ")   target %s %s%s   %s\n", n, med, u, lo, hi, op, t, u, ok }'
}
# info NAME "median min max" FORMAT UNIT: a figure with no target.
info() {
	read -r med lo hi <<<"$2"
	awk -v n="$1" -v med="$med" -v lo="$lo" -v hi="$hi" -v f="$3" -v u="$4" 'BEGIN {
		if (u != "") u = " " u
		printf "  %-44s " f "%s (" f "–" f ")\n", n, med, u, lo, hi }'
}
echo
echo "== realtimesecretd load figures: median (min–max) over $ROUNDS rounds, $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(go env GOVERSION)"
case " ${MODES:-sat rate} " in *" sat "*)
	figure "saturation throughput, sidecar / direct" "$(pairs sat 4 ratio)" %.3f "" "≥" 0.5
	figure "sidecar CPU per mint at saturation" "$(column sat proxy 13)" %.1f µs "≤" 60
	;;
esac
case " ${MODES:-sat rate} " in *" rate "*)
	figure "added latency at ${RATE:-1000} mints/s, p50" "$(pairs rate 5 diff)" %.3f ms "≤" 0.15
	figure "added latency at ${RATE:-1000} mints/s, p99" "$(pairs rate 6 diff)" %.3f ms "≤" 0.8
	;;
esac
if [ "$FLOOR" != 0 ]; then
	fres=$OUT_DIR/floor/results.tsv
	echo "  -- against the floor (a bare ReverseProxy hop, no target: what the sidecar adds beyond any Go proxy)"
	case " ${MODES:-sat rate} " in *" sat "*)
		info "saturation throughput, sidecar / floor" "$(pairs sat 4 ratio "$fres")" %.3f ""
		info "floor CPU per request at saturation" "$(floor_cpu)" %.1f µs
		info "sidecar CPU per mint in those rounds" "$(column sat proxy 13 "$fres")" %.1f µs
		;;
	esac
	case " ${MODES:-sat rate} " in *" rate "*)
		info "latency over the floor at ${RATE:-1000}/s, p50" "$(pairs rate 5 diff "$fres")" %.3f ms
		info "latency over the floor at ${RATE:-1000}/s, p99" "$(pairs rate 6 diff "$fres")" %.3f ms
		;;
	esac
	echo "  --"
fi
figure "RSS growth per stored token" "$(cut -f6 "$OUT_DIR/memory.tsv" | stats)" %.0f B "≤" 300
errors=$(awk -F'\t' '$2 == "proxy" { e += $7 } END { print e + 0 }' "$res")
other=$(awk -F'\t' '{ print $16 }' "$res" | stats | cut -d' ' -f1)
echo "  sidecar errors over all A/B runs: $errors; median CPU of processes outside the test: $other% of one core"
echo "raw output: $OUT_DIR"
