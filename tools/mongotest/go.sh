#!/usr/bin/env bash
# Runs the go command (build, test, vet, run) in tools/mongotest with
# FerretDB patched by the files in _overlay/, so every build of the test
# server has the same patches:
#   tools/mongotest/go.sh build -o bin/mongotest .
# _overlay/sqlite_collection.go lets FerretDB's SQLite backend look a
# document up by _id when a filter has other conditions besides it, as the
# MongoDB store's conditional writes do (else each reads the collection);
# _overlay/msg_update.go closes each update statement's query when it ends
# (upstream holds them all to the end of the command, and a bulk write of
# more statements than SQLite connections deadlocked).
#
# Go refuses to overlay files in the module cache, so this copies the
# FerretDB module once into a cache directory named after the patches,
# replaces the patched files there, and builds with a copy of go.mod that
# points FerretDB at it (-modfile). The directory stays put, so the Go
# build cache keeps serving the compiled packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
mod=github.com/FerretDB/FerretDB
want=v1.24.0 # the version the _overlay files are copies of
have=$(go list -m -f '{{.Version}}' "$mod")
if [ "$have" != "$want" ]; then
  echo "tools/mongotest/go.sh: go.mod has $mod $have, the files in _overlay/ are from $want: update them" >&2
  exit 1
fi
sum=$(cat _overlay/*.go | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-${HOME:-${TMPDIR:-/tmp}}/.cache}/voronka-mongotest
patched=$cache/ferretdb-$want-$sum
if [ ! -d "$patched" ]; then
  go mod download "$mod"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/tmp-XXXXXX")
  cp -R "$(go list -m -f '{{.Dir}}' "$mod")/." "$tmp/"
  chmod -R u+w "$tmp"
  cp _overlay/sqlite_collection.go "$tmp/internal/backends/sqlite/collection.go"
  cp _overlay/msg_update.go "$tmp/internal/handler/msg_update.go"
  mv -T "$tmp" "$patched" 2>/dev/null || rm -rf "$tmp" # another build got there first
fi
modfile=$(mktemp -d "${TMPDIR:-/tmp}/mongotest-mod-XXXXXX")
trap 'rm -rf "$modfile"' EXIT
cp go.mod "$modfile/go.mod"
cp go.sum "$modfile/go.sum"
printf '\nreplace %s => %s\n' "$mod" "$patched" >>"$modfile/go.mod"
cmd=$1
shift
go "$cmd" -modfile "$modfile/go.mod" "$@"
