#!/usr/bin/env bash
# loadtest.sh — the performance budget (README "Performance"), measured in
# one run against a floor: internal/floorproxy, a bare
# httputil.ReverseProxy hop that only sets the key, the least any Go proxy
# in front of the same upstream costs on the same machine.
#
# It builds realtimesecretd, the floor and the shared harness's tools,
# starts them on free loopback ports, and runs, each phase skippable:
#   INPROC  the in-process benchmarks behind the pass-through, mint, lookup
#           and bytes-per-record rows (go test -bench, BENCHCOUNT runs)
#   DIRECT  the harness's A/B rounds, sidecar against the fake upstream
#           called directly: references, no target
#   FLOOR   the same rounds, sidecar against the floor, both in front of the
#           fake upstream: saturation throughput (wrk), CPU per mint, latency
#           at RATE mints/s (vegeta)
#   memory  fresh sidecars filled by wrk: RSS growth per stored token
#   WS      WebSocket sessions with the harness's ws tool, against its echo
#           server reached directly, through the floor and through the
#           sidecar (the echo server as its upstream:, redeeming a minted
#           token, so the attribution lookup is on the path), in alternating
#           rounds: RSS per open session, message round trip
# then prints every figure against its target (met / MISSED), with the CPU
# that processes outside the test used in each phase, and stops what it
# started. Nothing but 127.0.0.1 is ever a target; every load is bounded.
#
# Usage: scripts/loadtest.sh        (make loadtest; tools: make loadtest-tools)
#
# Environment (defaults in brackets):
#   PEERBENCH_DIR [../shared/bench beside the repository]  the harness: run.sh,
#                 mint.lua, fakeupstream/, ws/ (CI lays shared/ there)
#   ROUNDS [3]    rounds of every phase; MODES ["sat rate"], RATE [1000],
#                 DURATION [10s], RATE_DURATION [10s] and the harness's other
#                 settings pass through to run.sh
#   QUIET_WAIT [10]  before each run wait up to this many seconds for the
#                 machine to be idle (run.sh's setting, also used here)
#   INPROC [1] DIRECT [1] FLOOR [1] WS [1]  0 skips the phase (FLOOR=0 leaves
#                 the mint targets unmeasured: n/a)
#   BENCHCOUNT [ROUNDS]  runs of each in-process benchmark
#   TOKEN_TTL [60s]      lifetime of the fake upstream's secrets, so the store
#                        reaches a steady state during the rounds
#   MEM_ROUNDS [ROUNDS]  fresh sidecars for the memory figure
#   MEM_DURATION [20s]   wrk load that fills each of them (shorter than TOKEN_TTL)
#   WS_ROUNDS [ROUNDS] WS_CONNS [500] WS_RATE [10] messages/s per session,
#   WS_SIZE [6400] bytes, WS_DURATION [10s] of messages per run
#   OUT_DIR [mktemp]     binaries, logs and raw output stay there
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERBENCH_DIR=${PEERBENCH_DIR:-$ROOT/../shared/bench}
export ROUNDS=${ROUNDS:-3}
export QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_BUSY=${QUIET_BUSY:-10}
INPROC=${INPROC:-1} DIRECT=${DIRECT:-1} FLOOR=${FLOOR:-1} WS=${WS:-1}
BENCHCOUNT=${BENCHCOUNT:-$ROUNDS}
TOKEN_TTL=${TOKEN_TTL:-60s}
MEM_ROUNDS=${MEM_ROUNDS:-$ROUNDS}
MEM_DURATION=${MEM_DURATION:-20s}
WS_ROUNDS=${WS_ROUNDS:-$ROUNDS} WS_CONNS=${WS_CONNS:-500} WS_RATE=${WS_RATE:-10}
WS_SIZE=${WS_SIZE:-6400} WS_DURATION=${WS_DURATION:-10s}
MODES=${MODES:-sat rate}
RATE=${RATE:-1000}
export MODES RATE
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/realtimesecret-loadtest.XXXXXX)}
VK=vk-loadtest-not-secret # testdata/sidecar.loadtest.yaml's published value
BODY='{"session":{"type":"realtime","model":"openai/gpt-realtime"}}'
T_START=$(date +%s)

die() { echo "loadtest: $*" >&2; exit 1; }
on() { [ "$1" != 0 ]; }
has_mode() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }

for f in run.sh mint.lua fakeupstream ws; do
	[ -e "$PEERBENCH_DIR/$f" ] || die "no load harness at $PEERBENCH_DIR (run.sh, mint.lua, fakeupstream/, ws/); set PEERBENCH_DIR to the shared bench directory"
done
VEGETA=${VEGETA:-$(command -v vegeta || echo "$(go env GOPATH)/bin/vegeta")}
export VEGETA
for tool in wrk jq curl ss ps; do
	command -v "$tool" >/dev/null || die "$tool not found: run make loadtest-tools"
done
[ -x "$VEGETA" ] || die "vegeta not found: run make loadtest-tools"

BIN=$OUT_DIR/bin
mkdir -p "$BIN"
echo "== building realtimesecretd, the floor and the harness's tools into $BIN"
(cd "$ROOT" && go build -o "$BIN/realtimesecretd" ./cmd/realtimesecretd && go build -o "$BIN/floorproxy" ./internal/floorproxy)
# The harness is a module of its own; building it writes nothing into its
# (read-only) directory.
(cd "$PEERBENCH_DIR" && go build -o "$BIN/fakeupstream" ./fakeupstream)
if on "$WS"; then (cd "$PEERBENCH_DIR" && go build -o "$BIN/ws" ./ws); fi
if on "$INPROC"; then
	(cd "$ROOT" && go test -c -o "$BIN/realtimesecret.test" ./middleware/realtimesecret &&
		go test -c -o "$BIN/memory.test" ./middleware/realtimesecret/memory)
fi

# Processes this script started, stopped on any exit.
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port no socket uses, below the ephemeral
# range, so that no outgoing connection (ours or anyone's) can take it
# before the server binds it.
EPHEMERAL_LO=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local port span=$((EPHEMERAL_LO - 10000))
	[ "$span" -gt 1000 ] || span=20000
	for _ in $(seq 1 100); do
		port=$((10000 + RANDOM % span))
		if [ -z "$(ss -Htan "sport = :$port")" ]; then
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

# wait_listen PORT PID: wait until PID listens on loopback PORT, for at most 10 s.
wait_listen() {
	for _ in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || return 1
		[ -n "$(ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	return 1
}

# stop PID: end one process this script started, and forget it.
stop() {
	local p keep=()
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# --- CPU accounting ---------------------------------------------------------
# The harness's "other" CPU is the machine's busy time less what the test's
# processes used. In the floor rounds the harness follows two of the three
# processes (sidecar or floor, and the load generator), so the fake upstream
# would count as "other"; here every phase is accounted as a whole instead:
# everything this script started, live or already reaped, against the
# machine's busy time.
HZ=$(getconf CLK_TCK)
# sys_busy: busy and total CPU ticks of the machine, all CPUs (as run.sh).
sys_busy() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
# tree_ticks: CPU ticks used so far by this script and its descendants:
# each live one's own time plus the time of the children it has reaped.
tree_ticks() {
	local p
	for p in $$ $(ps -e -o pid=,ppid= | awk -v root=$$ '{ parent[$1] = $2 } END {
		for (p in parent) for (q = p; q in parent && q > 1; q = parent[q]) if (parent[q] == root) { print p; break } }'); do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true # gone since ps: reaped into its parent's
	done | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}
# span_begin / span_end: "wall_s other_pct_of_one_core" for the time between.
span_begin() { read -r SP_B0 _ < <(sys_busy); SP_T0=$(tree_ticks); SP_W0=$(date +%s.%N); }
span_end() {
	local b1 t1 w1
	read -r b1 _ < <(sys_busy); t1=$(tree_ticks); w1=$(date +%s.%N)
	awk -v b0="$SP_B0" -v b1="$b1" -v t0="$SP_T0" -v t1="$t1" -v w0="$SP_W0" -v w1="$w1" -v hz="$HZ" 'BEGIN {
		wall = w1 - w0; o = 100 * ((b1 - b0) - (t1 - t0)) / hz / (wall > 0 ? wall : 1)
		printf "%.1f %.1f\n", wall, (o < 0 ? 0 : o) }'
}
: >"$OUT_DIR/phases.tsv"
PH=()
phase_begin() { span_begin; PH=("$SP_B0" "$SP_T0" "$SP_W0"); }
# phase_end NAME: appends "NAME wall_s other%" to phases.tsv.
phase_end() {
	SP_B0=${PH[0]} SP_T0=${PH[1]} SP_W0=${PH[2]}
	printf '%s\t%s\n' "$1" "$(span_end | tr ' ' '\t')" >>"$OUT_DIR/phases.tsv"
}

# wait_quiet: wait (at most QUIET_WAIT s) until the machine is < QUIET_BUSY %
# busy over 1 s, as run.sh does before each of its runs.
wait_quiet() {
	local waited=0 a b c d pct
	[ "$QUIET_WAIT" -gt 0 ] || return 0
	while :; do
		read -r a b < <(sys_busy); sleep 1; read -r c d < <(sys_busy)
		pct=$(((c - a) * 100 / ((d - b) > 0 ? (d - b) : 1)))
		[ "$pct" -lt "$QUIET_BUSY" ] && return 0
		waited=$((waited + 1))
		[ "$waited" -lt "$QUIET_WAIT" ] || { echo "  (machine still ${pct}% busy after ${QUIET_WAIT}s; running anyway)" >&2; return 0; }
	done
}

# stats: median, min and max of the numbers on stdin, as "median min max".
stats() {
	sort -g | awk '{a[NR] = $1} END {
		if (NR == 0) { print "nan nan nan"; exit }
		print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'
}

# --- in-process benchmarks --------------------------------------------------
if on "$INPROC"; then
	echo
	echo "== in-process benchmarks (./middleware/realtimesecret), $BENCHCOUNT runs each"
	phase_begin
	(
		cd "$ROOT/middleware/realtimesecret"
		"$BIN/realtimesecret.test" -test.run '^$' -test.bench '^(BenchmarkPassthroughOverhead|BenchmarkMintFixture|BenchmarkLookup)$' \
			-test.benchmem -test.count "$BENCHCOUNT"
		# One fill of a million records a run: the figure is a heap count.
		cd "$ROOT/middleware/realtimesecret/memory"
		"$BIN/memory.test" -test.run '^$' -test.bench '^BenchmarkMemoryStoreFootprint(Distinct)?$' \
			-test.benchmem -test.benchtime 1x -test.count "$BENCHCOUNT"
	) >"$OUT_DIR/bench.txt" 2>&1 || { cat "$OUT_DIR/bench.txt" >&2; die "the in-process benchmarks failed"; }
	phase_end inproc
	grep -c '^Benchmark' "$OUT_DIR/bench.txt" | awk '{ print "  " $1 " benchmark lines in '"$OUT_DIR/bench.txt"'" }'
fi

# --- servers ----------------------------------------------------------------
UP_PORT=$(free_port)
"$BIN/fakeupstream" -addr "127.0.0.1:$UP_PORT" -ttl "$TOKEN_TTL" 2>"$OUT_DIR/fakeupstream.log" &
UP_PID=$!
pids+=("$UP_PID")
wait_http "http://127.0.0.1:$UP_PORT/healthz" "$UP_PID" || { cat "$OUT_DIR/fakeupstream.log" >&2; die "fake upstream did not start"; }

SC_PORT=$(free_port)
SC_PID=
PROXY_UPSTREAM= # the sidecar's upstream: (existing proxy); none but in the WebSocket rounds
# start_sidecar NAME: a fresh realtimesecretd on SC_PORT that has minted one
# token (OUT_DIR/mint.NAME.json), logging to OUT_DIR.
start_sidecar() {
	LOADTEST_LISTEN="127.0.0.1:$SC_PORT" LOADTEST_UPSTREAM="http://127.0.0.1:$UP_PORT" LOADTEST_PROXY_UPSTREAM="$PROXY_UPSTREAM" \
		"$BIN/realtimesecretd" -config "$ROOT/testdata/sidecar.loadtest.yaml" >"$OUT_DIR/sidecar.$1.log" 2>&1 &
	SC_PID=$!
	pids+=("$SC_PID")
	wait_http "http://127.0.0.1:$SC_PORT/healthz" "$SC_PID" || { cat "$OUT_DIR/sidecar.$1.log" >&2; die "sidecar did not start"; }
	local status
	status=$(curl -sS -o "$OUT_DIR/mint.$1.json" -w '%{http_code}' "http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" \
		-H "Authorization: Bearer $VK" -H 'Content-Type: application/json' -d "$BODY")
	[ "$status" = 200 ] || { cat "$OUT_DIR/mint.$1.json" "$OUT_DIR/sidecar.$1.log" >&2; die "a mint through the sidecar answered $status"; }
}
FL_PORT=
FL_PID=
# start_floor UPSTREAM NAME: a fresh floor proxy on a free port in front of UPSTREAM.
start_floor() {
	FL_PORT=$(free_port)
	"$BIN/floorproxy" -addr "127.0.0.1:$FL_PORT" -upstream "$1" 2>"$OUT_DIR/floorproxy.$2.log" &
	FL_PID=$!
	pids+=("$FL_PID")
	wait_listen "$FL_PORT" "$FL_PID" || { cat "$OUT_DIR/floorproxy.$2.log" >&2; die "floor proxy did not start"; }
}
metric() { # NAME [LABELS]: a sample of the sidecar's /metrics, 0 when absent
	curl -fsS "http://127.0.0.1:$SC_PORT/metrics" | awk -v k="$1${2:-}" '$1 == k { v = $2 } END { printf "%d\n", v }'
}
rss_kib() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }

# --- mint rounds: sidecar against the fake upstream directly (references) ---
if on "$DIRECT"; then
	start_sidecar ab
	echo
	echo "== reference rounds: sidecar 127.0.0.1:$SC_PORT (pid $SC_PID) against the fake upstream 127.0.0.1:$UP_PORT (pid $UP_PID) called directly, token TTL $TOKEN_TTL"
	phase_begin
	PROXY_AUTH=$VK PROXY_BODY=$BODY PROXY_PID=$SC_PID UPSTREAM_PID=$UP_PID OUT_DIR=$OUT_DIR/ab \
		"$PEERBENCH_DIR/run.sh" "http://127.0.0.1:$SC_PORT" "http://127.0.0.1:$UP_PORT"
	phase_end direct
	stop "$SC_PID"
fi

# --- mint rounds: sidecar against the floor (the targets) --------------------
if on "$FLOOR"; then
	start_floor "http://127.0.0.1:$UP_PORT" mint
	start_sidecar floor
	echo
	echo "== floor rounds: sidecar 127.0.0.1:$SC_PORT (pid $SC_PID) against the floor 127.0.0.1:$FL_PORT (pid $FL_PID), both in front of the fake upstream"
	phase_begin
	PROXY_AUTH=$VK PROXY_BODY=$BODY PROXY_PID=$SC_PID UPSTREAM_PID=$FL_PID DIRECT_AUTH='' OUT_DIR=$OUT_DIR/floor \
		"$PEERBENCH_DIR/run.sh" "http://127.0.0.1:$SC_PORT" "http://127.0.0.1:$FL_PORT"
	phase_end floor
	stop "$SC_PID"
	stop "$FL_PID"
fi

# --- memory per stored token ------------------------------------------------
echo
echo "== memory: $MEM_ROUNDS fresh sidecars, each filled by wrk for $MEM_DURATION"
: >"$OUT_DIR/memory.tsv"
phase_begin
for r in $(seq 1 "$MEM_ROUNDS"); do
	start_sidecar "mem$r"
	BODY=$BODY AUTH=$VK wrk -t2 -c64 -d2s -s "$PEERBENCH_DIR/mint.lua" "http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" >/dev/null
	sleep 1
	rss0=$(rss_kib "$SC_PID") n0=$(metric realtimesecret_stored_records)
	BODY=$BODY AUTH=$VK wrk -t2 -c64 -d"$MEM_DURATION" -s "$PEERBENCH_DIR/mint.lua" \
		"http://127.0.0.1:$SC_PORT/v1/realtime/client_secrets" >"$OUT_DIR/memory.$r.wrk"
	sleep 1
	rss1=$(rss_kib "$SC_PID") n1=$(metric realtimesecret_stored_records)
	stop "$SC_PID"
	awk -v r="$r" -v a="$rss0" -v b="$rss1" -v n0="$n0" -v n1="$n1" 'BEGIN {
		printf "%s\t%d\t%d\t%d\t%d\t%.1f\n", r, a, b, n0, n1, (b - a) * 1024 / (n1 > n0 ? n1 - n0 : 1) }' >>"$OUT_DIR/memory.tsv"
	tail -1 "$OUT_DIR/memory.tsv" | awk -F'\t' '{printf "  round %s: RSS %d -> %d KiB, stored records %d -> %d: %.0f bytes per token\n", $1, $2, $3, $4, $5, $6}'
done
phase_end memory

# --- WebSocket sessions -----------------------------------------------------
# ws_run ROUND TARGET: one ws load run, direct to the echo server, through a
# fresh floor or through a fresh sidecar; appends a row to ws.tsv:
# round target conns failed msgs errors rss_per_conn_kib p50_ms p99_ms
# proxy_cpu_us_per_msg other% redeemed
ws_run() {
	local r=$1 t=$2 port pid=0 token="" tag=$OUT_DIR/ws/$1-$2 line redeemed=-1 p0=0 p1=0 span
	case $t in
	direct) port=$ECHO_PORT ;;
	floor)
		start_floor "http://127.0.0.1:$ECHO_PORT" "ws$r"
		port=$FL_PORT pid=$FL_PID
		;;
	sidecar)
		PROXY_UPSTREAM="http://127.0.0.1:$ECHO_PORT"
		start_sidecar "ws$r"
		PROXY_UPSTREAM=
		port=$SC_PORT pid=$SC_PID
		token=$(jq -r '.value // empty' "$OUT_DIR/mint.ws$r.json")
		case $token in ek_*) ;; *) die "the sidecar's mint gave no ek_ token (see $OUT_DIR/mint.ws$r.json)" ;; esac
		;;
	esac
	wait_quiet
	[ "$pid" = 0 ] || p0=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
	span_begin
	"$BIN/ws" load -url "ws://127.0.0.1:$port/v1/realtime?model=gpt-realtime" -token "$token" -conns "$WS_CONNS" \
		-rate "$WS_RATE" -size "$WS_SIZE" -dur "$WS_DURATION" -pid "$pid" >"$tag.out" 2>"$tag.err" ||
		{ cat "$tag.err" >&2; die "ws load failed against $t"; }
	span=$(span_end)
	if [ "$pid" != 0 ]; then
		p1=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		[ "$t" = sidecar ] && redeemed=$(metric realtimesecret_redemptions_total '{result="found"}')
		stop "$pid"
	fi
	line=$(grep '^WSBENCH' "$tag.out") || { cat "$tag.out" "$tag.err" >&2; die "no WSBENCH line from ws load against $t"; }
	echo "$line" | tr ' ' '\n' | awk -F= -v r="$r" -v t="$t" -v dp=$((p1 - p0)) -v hz="$HZ" -v span="$span" -v red="$redeemed" '
		NF == 2 { v[$1] = $2 }
		END {
			split(span, s, " ")
			printf "%s\t%s\t%d\t%d\t%d\t%d\t%.1f\t%.3f\t%.3f\t%.1f\t%.1f\t%d\n", r, t, v["conns"], v["failed"], v["msgs"], v["errors"],
				v["rss_per_conn_kb"], v["p50_us"] / 1000, v["p99_us"] / 1000, (v["msgs"] > 0 ? 1e6 * dp / hz / v["msgs"] : 0), s[2], red }' >>"$OUT_DIR/ws.tsv"
	tail -1 "$OUT_DIR/ws.tsv" | awk -F'\t' '{
		printf "  r%s %-7s sessions %d (failed %d)  msgs %d  errors %d  RSS/session %s KiB  p50 %s ms  p99 %s ms  CPU/msg %s µs  other %s%%%s\n",
			$1, $2, $3, $4, $5, $6, ($2 == "direct" ? "-" : $7), $8, $9, ($2 == "direct" ? "-" : $10), $11, ($2 == "sidecar" ? "  redeemed " $12 : "") }'
}

if on "$WS"; then
	mkdir -p "$OUT_DIR/ws"
	: >"$OUT_DIR/ws.tsv"
	ECHO_PORT=$(free_port)
	"$BIN/ws" echo -addr "127.0.0.1:$ECHO_PORT" 2>"$OUT_DIR/echo.log" &
	ECHO_PID=$!
	pids+=("$ECHO_PID")
	wait_listen "$ECHO_PORT" "$ECHO_PID" || { cat "$OUT_DIR/echo.log" >&2; die "the echo server did not start"; }
	echo
	echo "== WebSocket rounds: $WS_ROUNDS x (direct, floor, sidecar; floor and sidecar swap places every round), $WS_CONNS sessions x $WS_RATE msg/s x $WS_SIZE B for $WS_DURATION; echo server 127.0.0.1:$ECHO_PORT"
	phase_begin
	for r in $(seq 1 "$WS_ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then order="direct floor sidecar"; else order="direct sidecar floor"; fi
		for t in $order; do ws_run "$r" "$t"; done
	done
	phase_end ws
	stop "$ECHO_PID"
fi

# --- every figure against its target -----------------------------------------
fres=$OUT_DIR/floor/results.tsv
ares=$OUT_DIR/ab/results.tsv
wres=$OUT_DIR/ws.tsv
# pairs FILE MODE COLUMN ratio|diff: the harness's proxy (sidecar) against its
# direct side, round by round.
pairs() {
	[ -s "$1" ] || { echo "nan nan nan"; return; }
	awk -F'\t' -v m="$2" -v c="$3" -v op="$4" '$1 == m { v[$3, $2] = $c; r[$3] = 1 }
		END { for (k in r) if (((k, "proxy") in v) && ((k, "direct") in v))
			print (op == "ratio" ? v[k, "proxy"] / v[k, "direct"] : v[k, "proxy"] - v[k, "direct"]) }' "$1" | stats
}
# cpu_per_req FILE TARGET CPUCOLUMN: CPU µs per request at saturation, from
# a CPU share of one core over the run and the requests per second; the same
# reckoning for the sidecar (proxy, column 9) and the floor (the harness's
# upstream in the floor rounds, column 10), so the two compare.
cpu_per_req() {
	[ -s "$1" ] || { echo "nan nan nan"; return; }
	awk -F'\t' -v t="$2" -v c="$3" '$1 == "sat" && $2 == t && $4 > 0 { print $c / 100 * 1e6 / $4 }' "$1" | stats
}
col() { # FILE MODE TARGET COLUMN: median min max of a harness column
	[ -s "$1" ] || { echo "nan nan nan"; return; }
	awk -F'\t' -v m="$2" -v t="$3" -v c="$4" '$1 == m && $2 == t { print $c }' "$1" | stats
}
ws_col() { # TARGET COLUMN
	[ -s "$wres" ] || { echo "nan nan nan"; return; }
	awk -F'\t' -v t="$1" -v c="$2" '$2 == t { print $c }' "$wres" | stats
}
ws_pairs() { # COLUMN ratio|diff: sidecar against the floor, round by round
	[ -s "$wres" ] || { echo "nan nan nan"; return; }
	awk -F'\t' -v c="$1" -v op="$2" '{ v[$1, $2] = $c; r[$1] = 1 }
		END { for (k in r) if (((k, "sidecar") in v) && ((k, "floor") in v))
			print (op == "ratio" ? (v[k, "floor"] > 0 ? v[k, "sidecar"] / v[k, "floor"] : "nan") : v[k, "sidecar"] - v[k, "floor"]) }' "$wres" | stats
}
bench() { # NAME UNIT [SCALE]: median min max of one benchmark's metric over its runs
	[ -s "$OUT_DIR/bench.txt" ] || { echo "nan nan nan"; return; }
	awk -v n="$1" -v u="$2" -v s="${3:-1}" '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); if (name != n) next
		for (i = 3; i <= NF; i++) if ($i == u) print $(i - 1) * s }' "$OUT_DIR/bench.txt" | stats
}
# m3 "median min max" FORMAT [UNIT]: "median (min–max) UNIT".
m3() {
	awk -v s="$1" -v f="$2" -v u="${3:+ $3}" 'BEGIN { split(s, a, " ")
		if (a[1] == "nan") { print "not measured"; exit }
		printf f " (" f "–" f ")%s\n", a[1], a[2], a[3], u }'
}
# holds "median min max" OP LIMIT: 0 when the median meets the limit.
holds() { awk -v s="$1" -v op="$2" -v t="$3" 'BEGIN { split(s, a, " ")
	exit !(a[1] != "nan" && t != "nan" && (op == "≥" ? a[1] + 0 >= t + 0 : a[1] + 0 <= t + 0)) }'; }
med() { echo "${1%% *}"; }
met=0 missed=0 na=0
# row NAME MEASURED TARGET VERDICT
row() {
	case $4 in met) met=$((met + 1)) ;; MISSED) missed=$((missed + 1)) ;; *) na=$((na + 1)) ;; esac
	printf '  %-52s | %-30s | %-32s | %s\n' "$1" "$2" "$3" "$4"
}
verdict() { # MEASURED_STATS CHECK...: n/a when not measured, else met only if every check holds
	if [ "${1%% *}" = nan ]; then echo n/a; return; fi
	shift
	while [ $# -gt 0 ]; do
		holds "$1" "$2" "$3" || { echo MISSED; return; }
		shift 3
	done
	echo met
}
ref() { printf '  %-52s | %-30s | %s\n' "$1" "$2" "${3:-}"; }

echo
echo "== realtimesecret performance budget: median (min–max) over rounds; $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(go env GOVERSION)"
printf '  %-52s | %-30s | %-32s | %s\n' figure measured target ""
echo "  -- mint (sidecar against the floor, $ROUNDS alternating rounds; FLOOR=${FLOOR})"
if has_mode sat; then
	s=$(pairs "$fres" sat 4 ratio)
	row "saturation throughput, sidecar / floor, per round" "$(m3 "$s" %.3f)" "≥ 1.0" "$(verdict "$s" "$s" ≥ 1.0)"
	s=$(cpu_per_req "$fres" proxy 9) f=$(cpu_per_req "$fres" direct 10)
	row "sidecar CPU per mint at saturation" "$(m3 "$s" %.1f µs)" "≤ floor's $(m3 "$f" %.1f µs)" "$(verdict "$s" "$s" ≤ "$(med "$f")")"
fi
if has_mode rate; then
	s=$(pairs "$fres" rate 5 diff)
	row "p50 at $RATE mints/s over the floor, per round" "$(m3 "$s" %+.3f ms)" "≤ +0.05 ms" "$(verdict "$s" "$s" ≤ 0.05)"
	s=$(pairs "$fres" rate 6 diff)
	row "p99 at $RATE mints/s over the floor, per round" "$(m3 "$s" %+.3f ms)" "≤ +0.3 ms" "$(verdict "$s" "$s" ≤ 0.3)"
fi
s=$(cut -f6 "$OUT_DIR/memory.tsv" | stats)
row "sidecar RSS growth per stored token" "$(m3 "$s" %.0f B)" "≤ 300 B" "$(verdict "$s" "$s" ≤ 300)"
echo "  -- WebSocket (direct, floor, sidecar; $WS_ROUNDS rounds; $WS_CONNS sessions × $WS_RATE msg/s × $WS_SIZE B; WS=${WS})"
s=$(ws_pairs 7 ratio)
row "RSS per open session, sidecar / floor, per round" "$(m3 "$s" %.2f)" "≤ 1.1" "$(verdict "$s" "$s" ≤ 1.1)"
s=$(ws_pairs 8 diff)
row "WS round trip p50 over the floor, per round" "$(m3 "$s" %+.3f ms)" "≤ +0.1 ms" "$(verdict "$s" "$s" ≤ 0.1)"
s=$(ws_pairs 9 diff)
row "WS round trip p99 over the floor, per round" "$(m3 "$s" %+.3f ms)" "≤ +1 ms" "$(verdict "$s" "$s" ≤ 1)"
echo "  -- in-process (go test -bench, $BENCHCOUNT runs; INPROC=${INPROC})"
for r in servemux chi; do
	for h in no-auth sk-auth sdk-headers; do
		s=$(bench "BenchmarkPassthroughOverhead/$r/$h" added-ns/req) a=$(bench "BenchmarkPassthroughOverhead/$r/$h" added-allocs/req)
		row "pass-through added, $r, $h" "$(m3 "$s" %.1f ns), $(med "$a") allocs" "≤ 25 ns, 0 allocs" "$(verdict "$s" "$s" ≤ 25 "$a" ≤ 0)"
	done
done
for ep in client_secrets sessions transcription_sessions translations/client_secrets; do
	s=$(bench "BenchmarkMintFixture/$ep" ns/op 0.001) a=$(bench "BenchmarkMintFixture/$ep" allocs/op)
	row "mint in-process, $ep" "$(m3 "$s" %.1f µs), $(med "$a") allocs" "≤ 15 µs, ≤ 40 allocs" "$(verdict "$s" "$s" ≤ 15 "$a" ≤ 40)"
done
s=$(bench BenchmarkLookup ns/op) a=$(bench BenchmarkLookup allocs/op)
row "lookup, memory store" "$(m3 "$s" %.0f ns), $(med "$a") allocs" "≤ 200 ns, 0 allocs" "$(verdict "$s" "$s" ≤ 200 "$a" ≤ 0)"
s=$(bench BenchmarkMemoryStoreFootprint B/record)
row "bytes per record, 1M records" "$(m3 "$s" %.1f B)" "≤ 300 B" "$(verdict "$s" "$s" ≤ 300)"
s=$(bench BenchmarkMemoryStoreFootprintDistinct B/record)
row "bytes per record, every record distinct" "$(m3 "$s" %.1f B)" "≤ 300 B" "$(verdict "$s" "$s" ≤ 300)"
echo "  == $met met, $missed MISSED, $na not measured"

echo
echo "== references (no target)"
if on "$DIRECT"; then
	has_mode sat && ref "saturation throughput, sidecar / direct" "$(m3 "$(pairs "$ares" sat 4 ratio)" %.3f)" "(Bifrost, same harness: 0.20)"
	has_mode sat && ref "sidecar CPU per mint, direct rounds" "$(m3 "$(cpu_per_req "$ares" proxy 9)" %.1f µs)"
	has_mode rate && ref "p50 at $RATE mints/s over direct" "$(m3 "$(pairs "$ares" rate 5 diff)" %+.3f ms)"
	has_mode rate && ref "p99 at $RATE mints/s over direct" "$(m3 "$(pairs "$ares" rate 6 diff)" %+.3f ms)"
fi
if on "$FLOOR"; then
	has_mode sat && ref "saturation mints/s: floor, sidecar" "$(m3 "$(col "$fres" sat direct 4)" %.0f), $(m3 "$(col "$fres" sat proxy 4)" %.0f)"
	has_mode rate && ref "p50 at $RATE/s: floor, sidecar" "$(m3 "$(col "$fres" rate direct 5)" %.3f), $(m3 "$(col "$fres" rate proxy 5)" %.3f ms)"
	has_mode rate && ref "p99 at $RATE/s: floor, sidecar" "$(m3 "$(col "$fres" rate direct 6)" %.3f), $(m3 "$(col "$fres" rate proxy 6)" %.3f ms)"
fi
if on "$WS"; then
	ref "WS RSS per open session: floor, sidecar" "$(m3 "$(ws_col floor 7)" %.1f), $(m3 "$(ws_col sidecar 7)" %.1f KiB)"
	ref "WS round trip p50: direct, floor, sidecar" "$(m3 "$(ws_col direct 8)" %.3f), $(m3 "$(ws_col floor 8)" %.3f), $(m3 "$(ws_col sidecar 8)" %.3f ms)"
	ref "WS round trip p99: direct, floor, sidecar" "$(m3 "$(ws_col direct 9)" %.3f), $(m3 "$(ws_col floor 9)" %.3f), $(m3 "$(ws_col sidecar 9)" %.3f ms)"
	ref "WS proxy CPU per message: floor, sidecar" "$(m3 "$(ws_col floor 10)" %.1f), $(m3 "$(ws_col sidecar 10)" %.1f µs)"
	ref "WS sessions that failed, messages that failed" "$(awk -F'\t' '{ f += $4; e += $6 } END { print f + 0 ", " e + 0 }' "$wres")"
	ref "WS sidecar sessions attributed (redeemed)" "$(awk -F'\t' '$2 == "sidecar" { r += $12; n += $3 } END { print r + 0 " of " n + 0 }' "$wres")"
fi
errors=0
for f in "$ares" "$fres"; do
	[ -s "$f" ] && errors=$((errors + $(awk -F'\t' '$2 == "proxy" { e += $7 } END { print e + 0 }' "$f")))
done
ref "sidecar errors over all mint runs" "$errors"
echo
echo "== CPU used by processes outside the test (% of one core, whole phase; the harness's per-run figures are in its output above)"
awk -F'\t' '{ printf "  %-8s %6.0f s   other %5.1f%%\n", $1, $2, $3; w += $2; o += $2 * $3 }
	END { if (w > 0) printf "  all      %6.0f s   other %5.1f%%\n", w, o / w }' "$OUT_DIR/phases.tsv"
echo "  load average now: $(cut -d' ' -f1-3 /proc/loadavg); total time $(($(date +%s) - T_START)) s"
echo "raw output: $OUT_DIR"
