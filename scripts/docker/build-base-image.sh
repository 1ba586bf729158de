#!/usr/bin/env bash
# Build the offline base image `expkit-base:bookworm` when the engine lacks it.
#
# No image registry is reachable from these machines, only Debian's package
# mirror, so the image is made from a debootstrap root file system:
#   debootstrap --variant=minbase --include=python3,python3-venv,python3-pip bookworm ROOT MIRROR
#   tar -C ROOT --numeric-owner -c . | docker import - expkit-base:bookworm
# The root file system tarball is cached under $EXPKIT_CI_CACHE (default
# ~/.cache/expkit-ci), so a rerun, or an engine whose data dir was wiped,
# re-imports in seconds instead of bootstrapping again (~90 s).
#
# Environment:
#   EXPKIT_BASE_IMAGE  image name (default expkit-base:bookworm)
#   EXPKIT_CI_CACHE    cache folder (default ~/.cache/expkit-ci)
#   EXPKIT_DEBIAN_MIRROR  override the mirror read from apt's sources
set -euo pipefail

log() { printf 'build-base-image: %s\n' "$*"; }
die() { printf 'build-base-image: error: %s\n' "$*" >&2; exit 1; }

IMAGE=${EXPKIT_BASE_IMAGE:-expkit-base:bookworm}
SUITE=bookworm
CACHE=${EXPKIT_CI_CACHE:-${HOME:-/root}/.cache/expkit-ci}
TARBALL="$CACHE/rootfs-$SUITE-python3.tar"

docker info >/dev/null 2>&1 || die "the Docker engine does not answer: run scripts/docker/ensure-engine.sh first"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE already present ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-19))"
    exit 0
fi

# The first `URIs:` of a stanza serving the suite itself (not -security/-updates).
debian_mirror() {
    local file=/etc/apt/sources.list.d/debian.sources
    if [[ -n ${EXPKIT_DEBIAN_MIRROR:-} ]]; then
        echo "$EXPKIT_DEBIAN_MIRROR"; return
    fi
    if [[ -f $file ]]; then
        awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
            /^URIs:/   { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END        { if (uri != "" && ok) print uri }
        ' "$file" | head -n 1
        return
    fi
    if [[ -f /etc/apt/sources.list ]]; then
        awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' /etc/apt/sources.list
        return
    fi
}

if [[ ! -s $TARBALL ]]; then
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing: run scripts/docker/ensure-engine.sh (it installs it)"
    MIRROR=$(debian_mirror)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    mkdir -p "$CACHE"
    WORK=$(mktemp -d "$CACHE/.rootfs.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    log "bootstrapping Debian $SUITE with python3 from $MIRROR (about 90 s, once)"
    if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
        "$SUITE" "$WORK/root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
        tail -n 20 "$WORK/debootstrap.log" >&2
        die "debootstrap failed (log above)"
    fi
    # Smaller image: downloaded .debs and package lists are not needed at run time.
    rm -rf "$WORK"/root/var/cache/apt/archives/*.deb "$WORK"/root/var/lib/apt/lists/*
    # Scripts and `docker run IMAGE python ...` expect a `python` command.
    ln -sf /usr/bin/python3 "$WORK/root/usr/local/bin/python"
    tar -C "$WORK/root" --numeric-owner -cf "$WORK/rootfs.tar" .
    mv "$WORK/rootfs.tar" "$TARBALL" # same file system: atomic
    log "cached root file system at $TARBALL ($(du -h "$TARBALL" | cut -f1))"
else
    log "re-importing the cached root file system $TARBALL"
fi

docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --change "LABEL org.expkit.base=$SUITE-python3" \
    "$TARBALL" "$IMAGE" >/dev/null
log "imported $IMAGE ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-19))"
