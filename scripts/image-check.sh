#!/usr/bin/env bash
# image-check.sh — build the realtimesecretd container image and check it.
#
# Usage: scripts/image-check.sh        (make image-check; CI runs it)
#
# It checks, in order:
#   1. the container tool can build an image at all on this machine (a
#      FROM scratch image of one file). If it cannot, it says so clearly and
#      exits 0 with "SKIPPED": the machine, not the Containerfile, is at fault.
#   2. `make image` builds IMAGE from the Containerfile (retrying once with
#      the vfs storage driver where overlay is refused) and prints its tag.
#      From here on every failure fails the script.
#   3. the image's user is 65532:65532 (never root), its entrypoint is
#      /realtimesecretd and its default command names the config it ships.
#   4. the binary in the image prints VERSION with -version and accepts the
#      image's default config with -check, with keys and, in demo mode,
#      without any: inside a container where the machine allows one to run;
#      otherwise (sandboxes that refuse setrlimit or namespaces) on the
#      binary and config copied out of the image with `create` + `cp`,
#      which is the same file.
#   5. the binary is static (CGO_ENABLED=0) and carries the fallback CA roots.
#
# Environment: CONTAINER_TOOL [podman, else docker], IMAGE
# [realtimesecretd:check], VERSION [git describe], GO [go],
# IMAGE_CHECK_STORAGE=vfs to use podman's vfs driver in a scratch directory
# from the start (the script falls back to it when the default storage fails).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
GO=${GO:-go}
TOOL=${CONTAINER_TOOL:-$(command -v podman || command -v docker || true)}
IMAGE=${IMAGE:-realtimesecretd:check}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo unknown)}
WANT_USER=65532:65532
WANT_ENTRYPOINT=/realtimesecretd
CONFIG_IN_IMAGE=/etc/realtimesecretd/config.yaml

say() { printf 'image-check: %s\n' "$*"; }
fail() {
	printf 'image-check: FAIL: %s\n' "$*" >&2
	exit 1
}

if [[ -z "$TOOL" ]]; then
	say "SKIPPED: neither podman nor docker is installed (apt-get install podman)"
	exit 0
fi
say "$("$TOOL" --version)"

work=$(mktemp -d)
containers=()
cleanup() {
	for c in "${containers[@]}"; do "$TOOL" "${tool_flags[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
	"$TOOL" "${tool_flags[@]}" rmi -f "localhost/realtimesecretd-probe:check" >/dev/null 2>&1 || true
	if [[ -d "$work/storage" ]]; then
		"$TOOL" "${vfs_flags[@]}" system reset -f >/dev/null 2>&1 || true
	fi
	rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# 1. Can this machine build images at all? Global flags (storage driver)
# that make it work are kept for the real build.
tool_flags=()
probe() {
	mkdir -p "$work/probe"
	echo probe >"$work/probe/file"
	printf 'FROM scratch\nCOPY file /file\n' >"$work/probe/Containerfile"
	"$TOOL" "${tool_flags[@]}" build -q -t realtimesecretd-probe:check -f "$work/probe/Containerfile" "$work/probe" >"$work/probe.log" 2>&1
}
vfs_flags=(--root "$work/storage" --runroot "$work/run" --storage-driver vfs)
if [[ "${IMAGE_CHECK_STORAGE:-}" == vfs ]]; then
	tool_flags=("${vfs_flags[@]}")
fi
if ! probe; then
	if [[ "$(basename "$TOOL")" == podman ]] && ((${#tool_flags[@]} == 0)); then
		say "podman cannot build with its default storage ($(tail -n 1 "$work/probe.log")); trying vfs storage in a scratch directory"
		tool_flags=("${vfs_flags[@]}")
	fi
	if ((${#tool_flags[@]} == 0)) || ! probe; then
		say "SKIPPED: $TOOL cannot build even a one-file FROM scratch image on this machine:"
		sed 's/^/  /' "$work/probe.log"
		exit 0
	fi
fi
say "this machine can build images (${TOOL}${tool_flags[*]:+ ${tool_flags[*]}})"

# 2. The image.
make --no-print-directory image CONTAINER_TOOL="$TOOL ${tool_flags[*]}" IMAGE="$IMAGE" VERSION="$VERSION" GO="$GO" 2>&1 |
	tee "$work/make-image.log" || fail "make image did not build $IMAGE"
grep -qx "image: $IMAGE" "$work/make-image.log" || fail "make image did not print the tag it built (image: $IMAGE)"
t() { "$TOOL" "${tool_flags[@]}" "$@"; }

# 3. User, entrypoint, default command.
user=$(t image inspect --format '{{.Config.User}}' "$IMAGE")
entrypoint=$(t image inspect --format '{{join .Config.Entrypoint " "}}' "$IMAGE")
cmd=$(t image inspect --format '{{join .Config.Cmd " "}}' "$IMAGE")
[[ "$user" == "$WANT_USER" ]] || fail "image user is '$user', want $WANT_USER"
[[ "$entrypoint" == "$WANT_ENTRYPOINT" ]] || fail "image entrypoint is '$entrypoint', want $WANT_ENTRYPOINT"
[[ "$cmd" == "-config $CONFIG_IN_IMAGE" ]] || fail "image command is '$cmd', want -config $CONFIG_IN_IMAGE"
say "user $user, entrypoint $entrypoint, command $cmd: ok"

# 4. The binary: in a container if this machine runs them, else copied out.
check_env=(OPENAI_API_KEY=sk-image-check VK_WEB=vk-image-check)
if out=$(timeout 60 "$TOOL" "${tool_flags[@]}" run --rm "$IMAGE" -version 2>&1); then
	mode="in a container"
	version_out=$out
	check_out=$(timeout 60 "$TOOL" "${tool_flags[@]}" run --rm -e "${check_env[0]}" -e "${check_env[1]}" "$IMAGE" \
		-config "$CONFIG_IN_IMAGE" -check 2>&1) || fail "-check of the image's config failed in a container: $check_out"
	demo_out=$(timeout 60 "$TOOL" "${tool_flags[@]}" run --rm "$IMAGE" -config "$CONFIG_IN_IMAGE" -check 2>&1) ||
		fail "-check of the image's config without keys failed in a container: $demo_out"
else
	say "this machine does not run containers ($(tail -n 1 <<<"$out")); checking the binary copied out of the image"
	mode="copied out of the image"
	ctr=$(t create "$IMAGE")
	containers+=("$ctr")
	t cp "$ctr:$WANT_ENTRYPOINT" "$work/realtimesecretd"
	t cp "$ctr:$CONFIG_IN_IMAGE" "$work/config.yaml"
	version_out=$("$work/realtimesecretd" -version 2>&1) || fail "-version failed: $version_out"
	check_out=$(env "${check_env[@]}" "$work/realtimesecretd" -config "$work/config.yaml" -check 2>&1) ||
		fail "-check of the image's config failed: $check_out"
	demo_out=$(env -u OPENAI_API_KEY -u VK_WEB "$work/realtimesecretd" -config "$work/config.yaml" -check 2>&1) ||
		fail "-check of the image's config without keys failed: $demo_out"
fi
[[ "$version_out" == "realtimesecretd $VERSION "* ]] || fail "-version printed '$version_out', want realtimesecretd $VERSION ..."
say "-version ($mode): $version_out"
say "-check of $CONFIG_IN_IMAGE ($mode): $(head -n 1 <<<"$check_out")"
grep -q '^demo mode: openai' <<<"$demo_out" || fail "without OPENAI_API_KEY the image's config does not run the demo: $demo_out"
say "-check of $CONFIG_IN_IMAGE without keys ($mode): $(tail -n 1 <<<"$demo_out")"

# 5. Static, with CA roots for TLS to the provider.
if [[ -f "$work/realtimesecretd" ]]; then bin="$work/realtimesecretd"; else bin=bin/realtimesecretd; fi
info=$("$GO" version -m "$bin")
grep -q 'CGO_ENABLED=0' <<<"$info" || fail "the binary was built with cgo: it needs a libc the image does not have"
grep -q 'golang.org/x/crypto/x509roots/fallback' <<<"$info" || fail "the binary has no fallback CA roots"
say "static binary with fallback CA roots: ok"
say "image $IMAGE: all checks passed"
